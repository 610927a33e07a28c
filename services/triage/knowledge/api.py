"""Level 0's HTTP API: search the knowledge base, read an article, see what it deflects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from shared.db import MAX_OFFSET
from shared.messages.common import Category, Language

from services.triage.knowledge import handlers
from services.triage.knowledge.handlers import KnowledgeBase
from services.triage.knowledge.models import KbArticle
from services.triage.knowledge.schemas import (
    ArticleCounters,
    ArticlePage,
    ArticleSummary,
    ArticleView,
    SearchHit,
    SearchResults,
)
from services.triage.permissions import PERMISSIONS

router = APIRouter(prefix="/kb", tags=["knowledge base"])

Reader = PERMISSIONS.require("read the knowledge base")


def _kb(request: Request) -> KnowledgeBase:
    return request.app.state.triage.kb


KbDep = Annotated[KnowledgeBase, Depends(_kb)]


@router.get("/search", response_model=SearchResults, dependencies=[Reader])
async def search(
    kb: KbDep,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    lang: Language | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchResults:
    """Published articles answering `q`, most relevant first, with a highlighted snippet."""
    hits = await handlers.search(kb, question=q, language=lang, limit=limit)
    items = [
        SearchHit(**h.article.model_dump(include=set(SearchHit.model_fields)), score=h.score, snippet=h.snippet)
        for h in hits
    ]
    return SearchResults(query=q, language=lang, items=items)


@router.get("/articles", response_model=ArticlePage, dependencies=[Reader])
async def list_articles(
    kb: KbDep,
    lang: Language | None = None,
    category: Category | None = None,
    status: Annotated[str, Query(pattern="^(published|retired)$")] = "published",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ArticlePage:
    """Browse the articles, most recently updated first."""
    rows, total = await handlers.list_articles(
        kb, language=lang, category=category, status=status, limit=limit, offset=offset
    )
    items = [ArticleSummary.model_validate(r, from_attributes=True) for r in rows]
    return ArticlePage(items=items, total=total, limit=limit, offset=offset)


@router.get("/articles/{article_id}", response_model=ArticleView, dependencies=[Reader])
async def read_article(article_id: str, kb: KbDep) -> ArticleView:
    """One article, counted as opened; a retired article still answers, marked retired."""
    return _view(await handlers.open_article(kb, article_id))


@router.get("/stats", dependencies=[PERMISSIONS.require("read deflection statistics")])
async def deflection_stats(kb: KbDep, top: Annotated[int, Query(ge=1, le=200)] = 20) -> dict:
    """How much level 0 deflects: tickets resolved with an article, and per article suggested/opened/solved."""
    return await handlers.stats(kb, top=top)


def _view(article: KbArticle) -> ArticleView:
    counters = ArticleCounters(suggested=article.suggested, opened=article.opened, solved=article.solved)
    return ArticleView(**article.model_dump(exclude={"suggested", "opened", "solved"}), stats=counters)
