"""Triage's HTTP shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.messages.common import Category, Description, Language, Level, Title
from shared.messages.tickets import SuggestedArticle

from services.triage.domain import Decision


class ClassifyRequest(BaseModel):
    """A ticket as it would be submitted, to see where triage would send it."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description
    impact: Level = "medium"
    urgency: Level = "medium"
    category_hint: Category | None = None
    language: Language = "en"  # the requester's; the text's own language wins when it is clear


class ClassifyResponse(Decision):
    """The decision, the language the ticket is read in, and the articles that would be offered."""

    language: Language
    suggested_articles: list[SuggestedArticle]


class SearchHit(BaseModel):
    article_id: str
    title: str
    language: Language
    category: Category
    tags: list[str]
    score: float  # the engine's relevance (bm25 on SQLite, ts_rank on PostgreSQL): orders one result list
    snippet: str  # HTML-escaped; matched words in <mark>
    updated_at: datetime


class SearchResults(BaseModel):
    query: str
    language: Language | None
    items: list[SearchHit]


class ArticleCounters(BaseModel):
    suggested: int
    opened: int
    solved: int


class ArticleView(BaseModel):
    """An article as readers see it, with its deflection counters."""

    article_id: str
    title: str
    body: str  # Markdown
    language: Language
    category: Category
    tags: list[str]
    version: int
    status: str
    author: str
    updated_at: datetime
    stats: ArticleCounters


class ArticleSummary(BaseModel):
    article_id: str
    title: str
    language: Language
    category: Category
    tags: list[str]
    version: int
    status: str
    updated_at: datetime


class ArticlePage(BaseModel):
    items: list[ArticleSummary]
    total: int
    limit: int
    offset: int
