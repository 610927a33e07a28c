"""The knowledge base's HTTP shapes: search results, articles, pages of articles."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shared.messages.common import Category, Language


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
