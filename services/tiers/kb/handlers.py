"""Tier 2 and tier 3 write the knowledge base: publish, update, retire, or start from a resolved ticket.

Each change is staged in the tier's outbox as `kb.article_*` on `kb.articles`, in the
same transaction as the tier's own record of the articles it wrote; triage indexes them.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal
from shared.db import UTCDateTime, utcnow
from shared.errors import NotFound
from shared.lifecycle import Status
from shared.messages import decode, new_event
from shared.messages.common import Body, Category, CommentSnapshot, Language, Tag, TicketSnapshot, Title
from shared.messages.kb import ArticlePublished, ArticleRetired, ArticleUpdated
from shared.messaging.outbox import OutboxMessage, add_to_outbox
from shared.topics import KB_ARTICLES, TICKETS_EVENTS

from services.tiers.kb.domain import WRITING_TIERS, TicketNotResolved, clean_tags, draft_from_ticket, next_version
from services.tiers.permissions import PERMISSIONS, check_member
from services.tiers.tier import Tier
from services.tiers.work.models import TierTicket


class TierArticle(SQLModel, table=True):
    """An article as this tier last wrote it (the index lives at triage)."""

    __tablename__ = "kb_authored_articles"

    article_id: str = Field(primary_key=True)
    title: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    language: str
    category: str
    tags: list = Field(default=[], sa_column=Column(JSON, nullable=False))
    version: int
    status: str = "published"
    author: str
    from_ticket_id: str | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# The version an edit replaces: the next one (+1) must still fit a 64-bit integer (the event's JSON, the
# columns); a larger one was a 500, now a 422 naming `version`.
MAX_REPLACED_VERSION = 2**63 - 2


class ArticleCreate(BaseModel):
    """A new article; from a resolved ticket, every field defaults from the ticket. The author is the caller."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: Body | None = None
    language: Language | None = None
    category: Category | None = None
    tags: list[Tag] = Field(default=[], max_length=20)
    from_ticket_id: str | None = Field(default=None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _complete(self):
        missing = [f for f in ("title", "body", "language", "category") if getattr(self, f) is None]
        if self.from_ticket_id is None and missing:
            raise ValueError(f"without from_ticket_id, give {', '.join(missing)}")
        return self


class ArticleUpdate(BaseModel):
    """The article's new content, whole; `version` is the one being replaced. The author is the caller."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    body: Body
    language: Language
    category: Category
    tags: list[Tag] = Field(default=[], max_length=20)
    version: int | None = Field(default=None, ge=1, le=MAX_REPLACED_VERSION)


class ArticleOut(BaseModel):
    article_id: str
    title: str
    body: str
    language: Language
    category: Category
    tags: list[str]
    version: int
    status: str
    author: str
    from_ticket_id: str | None
    updated_at: datetime


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
    article = await publish_article(_tier(request), body, author=writer.sub)
    response.headers["Location"] = f"/kb/articles/{article.article_id}"
    return article


@router.put("/articles/{article_id}", response_model=ArticleOut)
async def update(article_id: str, body: ArticleUpdate, request: Request, writer: Writer) -> TierArticle:
    """Replace an article's content: a new version."""
    return await update_article(_tier(request), article_id, body, author=writer.sub)


@router.delete("/articles/{article_id}", response_model=ArticleOut)
async def retire(
    article_id: str,
    request: Request,
    writer: Writer,
    version: Annotated[int | None, Query(ge=1, le=MAX_REPLACED_VERSION)] = None,
) -> TierArticle:
    """Retire an article: it leaves the search, stays readable marked retired."""
    return await retire_article(_tier(request), article_id, author=writer.sub, replacing=version)


@router.get("/articles", response_model=list[ArticleOut])
async def written_here(
    request: Request, _: Annotated[Principal, PERMISSIONS.require("read articles")]
) -> list[TierArticle]:
    """The articles this tier wrote, most recent first."""
    async with _tier(request).db.read() as session:
        query = select(TierArticle).order_by(col(TierArticle.updated_at).desc())
        return list((await session.exec(query)).all())


async def publish_article(tier: Tier, body: ArticleCreate, *, author: str) -> TierArticle:
    """Record a new article and stage `kb.article_published`."""
    async with tier.db.unit_of_work() as session:
        draft = None
        if body.from_ticket_id:
            draft = await _draft(session, tier, body.from_ticket_id, body_given=body.body is not None)
        given = body.model_dump(exclude={"from_ticket_id", "tags"}, exclude_none=True)
        fields = {**(dataclasses.asdict(draft) if draft else {}), **given}
        fields["tags"] = clean_tags([*(draft.tags if draft else []), *body.tags])
        article = TierArticle(
            article_id=f"kb-{uuid.uuid4().hex[:12]}", version=1, author=author,
            from_ticket_id=body.from_ticket_id, **fields,
        )
        session.add(article)
        _stage(session, tier, ArticlePublished, article)
    return article


async def update_article(tier: Tier, article_id: str, body: ArticleUpdate, *, author: str) -> TierArticle:
    """Record a new version of an article and stage `kb.article_updated`."""
    async with tier.db.unit_of_work() as session:
        article = await session.get(TierArticle, article_id)
        version = next_version(article_id, held=article.version if article else None, replacing=body.version)
        if article is None:
            article = TierArticle(
                article_id=article_id, title="", body="", language="", category="", version=0, author=""
            )
            session.add(article)
        for field, value in body.model_dump(exclude={"version"}).items():
            setattr(article, field, value)
        article.tags = clean_tags(body.tags)
        article.version, article.status, article.author, article.updated_at = version, "published", author, utcnow()
        _stage(session, tier, ArticleUpdated, article)
    return article


async def retire_article(tier: Tier, article_id: str, *, author: str, replacing: int | None) -> TierArticle:
    """Mark an article retired and stage `kb.article_retired`."""
    async with tier.db.unit_of_work() as session:
        article = await session.get(TierArticle, article_id)
        version = next_version(article_id, held=article.version if article else None, replacing=replacing)
        if article is None:  # retired without its content: the id and version are what triage needs
            article = TierArticle(article_id=article_id, title="", body="", language="en", category="other",
                                  version=0, author=author)
            session.add(article)
        article.version, article.status, article.author, article.updated_at = version, "retired", author, utcnow()
        retired = ArticleRetired(article_id=article_id, version=version, author=author, updated_at=article.updated_at)
        add_to_outbox(session, KB_ARTICLES, new_event(tier.source, retired))
    return article


def _stage(
    session: AsyncSession, tier: Tier, kind: type[ArticlePublished | ArticleUpdated], article: TierArticle
) -> None:
    content = kind(**article.model_dump(include=set(kind.model_fields)))
    add_to_outbox(session, KB_ARTICLES, new_event(tier.source, content))


async def _draft(session: AsyncSession, tier: Tier, ticket_id: str, *, body_given: bool):
    row = await session.get(TierTicket, ticket_id)
    if row is None:
        raise NotFound(f"ticket {ticket_id} is not at tier {tier.number}")
    if row.status not in (Status.RESOLVED, Status.CLOSED):
        raise TicketNotResolved(f"ticket {ticket_id} is {row.status.replace('_', ' ')}: resolve it first")
    snapshot = TicketSnapshot.model_validate(row.snapshot)
    comments = [CommentSnapshot.model_validate(c) for c in row.comments]
    resolution = await _resolution_on_record(session, ticket_id, tier.number)
    return draft_from_ticket(snapshot, comments, resolution, body_given=body_given)


async def _resolution_on_record(session: AsyncSession, ticket_id: str, tier: int) -> str | None:
    # The tier's table keeps no resolution text; the `ticket.resolved` this tier published
    # is in its own outbox for the retention period (7 days by default).
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.topic == TICKETS_EVENTS, OutboxMessage.key == ticket_id.encode())
        .order_by(col(OutboxMessage.id).desc())
    )
    for row in (await session.exec(query)).all():
        headers = [(name, value.encode()) for name, value in row.headers]
        if dict(row.headers).get("ce_type") == "ticket.resolved":
            resolved = decode(headers, row.value).data
            if resolved.level == tier:
                return resolved.resolution
    return None
