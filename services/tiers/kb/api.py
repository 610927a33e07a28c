"""The knowledge-base routes of tier 2 and tier 3: thin, over the use cases in `handlers`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from shared.auth import Principal

from services.tiers.kb import handlers
from services.tiers.kb.domain import WRITING_TIERS
from services.tiers.kb.models import TierArticle
from services.tiers.kb.schemas import MAX_REPLACED_VERSION, ArticleCreate, ArticleOut, ArticleUpdate
from services.tiers.permissions import PERMISSIONS, check_member
from services.tiers.tier import Tier

router = APIRouter(prefix="/kb", tags=["knowledge base"])


def routers(tier: int) -> list[APIRouter]:
    """The knowledge-base routes, for the tiers whose engineers write articles."""
    return [router] if tier in WRITING_TIERS else []


def _tier(request: Request) -> Tier:
    return request.app.state.tier


def _writer(request: Request, principal: Annotated[Principal, PERMISSIONS.require("write articles")]) -> Principal:
    """An engineer of this tier (or a lead): the author of what they write."""
    check_member(principal, _tier(request).number)
    return principal


Writer = Annotated[Principal, Depends(_writer)]


@router.post("/articles", status_code=201, response_model=ArticleOut)
async def publish(body: ArticleCreate, request: Request, response: Response, writer: Writer) -> TierArticle:
    """Publish an article, written here or started from a ticket resolved here."""
    article = await handlers.publish_article(_tier(request), body, author=writer.sub)
    response.headers["Location"] = f"/kb/articles/{article.article_id}"
    return article


@router.put("/articles/{article_id}", response_model=ArticleOut)
async def update(article_id: str, body: ArticleUpdate, request: Request, writer: Writer) -> TierArticle:
    """Replace an article's content: a new version."""
    return await handlers.update_article(_tier(request), article_id, body, author=writer.sub)


@router.delete("/articles/{article_id}", response_model=ArticleOut)
async def retire(
    article_id: str,
    request: Request,
    writer: Writer,
    version: Annotated[int | None, Query(ge=1, le=MAX_REPLACED_VERSION)] = None,
) -> TierArticle:
    """Retire an article: it leaves the search, stays readable marked retired."""
    return await handlers.retire_article(_tier(request), article_id, author=writer.sub, replacing=version)


@router.get("/articles", response_model=list[ArticleOut])
async def written_here(
    request: Request, _: Annotated[Principal, PERMISSIONS.require("read articles")]
) -> list[TierArticle]:
    """The articles this tier wrote, most recent first."""
    return await handlers.articles_written(_tier(request))
