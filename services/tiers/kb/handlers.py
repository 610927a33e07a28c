"""The knowledge-base use cases of a tier: publish, update, retire, each one unit of work.

Each change is staged in the tier's outbox as `kb.article_*` on `kb.articles`, in the
same transaction as the tier's own record of the articles it wrote; triage indexes them.
"""

from __future__ import annotations

import dataclasses
import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import utcnow
from shared.errors import NotFound
from shared.lifecycle import Status
from shared.messages import decode, new_event
from shared.messages.common import CommentSnapshot, Payload, TicketSnapshot
from shared.messages.kb import ArticleContent, ArticlePublished, ArticleRetired, ArticleUpdated
from shared.messaging.outbox import OutboxMessage, add_to_outbox
from shared.topics import KB_ARTICLES, TICKETS_EVENTS

from services.tiers.kb.domain import Draft, TicketNotResolved, clean_tags, draft_from_ticket, next_version
from services.tiers.kb.models import TierArticle
from services.tiers.kb.schemas import ArticleCreate, ArticleUpdate
from services.tiers.tier import Tier
from services.tiers.work.models import TierTicket


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
        _stage(session, tier, _content(ArticlePublished, article))
    return article


async def update_article(tier: Tier, article_id: str, body: ArticleUpdate, *, author: str) -> TierArticle:
    """Record a new version of an article and stage `kb.article_updated`."""
    async with tier.db.unit_of_work() as session:
        # Locked until commit (SQLite's writer already serialises): two edits of one version at once
        # on PostgreSQL both passed the version check, and both wrote the same next version.
        article = await session.get(TierArticle, article_id, with_for_update=True)
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
        _stage(session, tier, _content(ArticleUpdated, article))
    return article


async def retire_article(tier: Tier, article_id: str, *, author: str, replacing: int | None) -> TierArticle:
    """Mark an article retired and stage `kb.article_retired`."""
    async with tier.db.unit_of_work() as session:
        article = await session.get(TierArticle, article_id, with_for_update=True)  # as update_article
        version = next_version(article_id, held=article.version if article else None, replacing=replacing)
        if article is None:  # retired without its content: the id and version are what triage needs
            article = TierArticle(article_id=article_id, title="", body="", language="en", category="other",
                                  version=0, author=author)
            session.add(article)
        article.version, article.status, article.author, article.updated_at = version, "retired", author, utcnow()
        _stage(session, tier, ArticleRetired(article_id=article_id, version=version, author=author,
                                             updated_at=article.updated_at))
    return article


async def articles_written(tier: Tier) -> list[TierArticle]:
    """The articles this tier wrote, most recent first."""
    async with tier.db.read() as session:
        query = select(TierArticle).order_by(col(TierArticle.updated_at).desc())
        return list((await session.exec(query)).all())


def _content(kind: type[ArticleContent], article: TierArticle) -> ArticleContent:
    """The article as the event `kind` carries it."""
    return kind(**article.model_dump(include=set(kind.model_fields)))


def _stage(session: AsyncSession, tier: Tier, fact: Payload) -> None:
    add_to_outbox(session, KB_ARTICLES, new_event(tier.source, fact))


async def _draft(session: AsyncSession, tier: Tier, ticket_id: str, *, body_given: bool) -> Draft:
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
