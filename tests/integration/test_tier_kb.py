"""Articles written at a tier, on both databases: the tier's record and the events in its outbox."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from shared.db import Database
from shared.messages import decode, new_event
from shared.messages.common import Requester, TicketSnapshot
from shared.messages.tickets import TicketResolved
from shared.messaging.outbox import OutboxMessage, add_to_outbox
from shared.sla.contracts import Contracts
from shared.topics import KB_ARTICLES, TICKETS_EVENTS

from services.tiers.kb.domain import StaleEdit, TicketNotResolved
from services.tiers.kb.handlers import publish_article, retire_article, update_article
from services.tiers.kb.models import TierArticle
from services.tiers.kb.schemas import ArticleCreate, ArticleUpdate
from services.tiers.tier import Tier
from services.tiers.work.models import TierTicket

NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)


@pytest.fixture
async def tier(database_url) -> Tier:
    db = Database(database_url)
    await db.create_tables([TierTicket, TierArticle, OutboxMessage])
    yield Tier(number=2, db=db, contracts=Contracts.load())
    await db.dispose()


async def held_ticket(tier: Tier, status: str, resolution: str | None = None) -> str:
    snapshot = TicketSnapshot(
        ticket_id=f"t-{status}", title="Mail server down", description="Nobody receives mail.",
        requester=Requester(email="ann@acme.example", name="Ann", language="en"), organization="acme",
        impact="high", urgency="high", priority="P1", category="server", submitted_at=NOW,
    )
    async with tier.db.unit_of_work() as session:
        session.add(TierTicket(id=snapshot.ticket_id, status=status, priority="P1", category="server",
                               organization="acme", snapshot=snapshot.model_dump(mode="json")))
        if resolution:
            resolved = TicketResolved(ticket_id=snapshot.ticket_id, level=2, resolution=resolution, by="bob")
            add_to_outbox(session, TICKETS_EVENTS, new_event("tier2", resolved))
    return snapshot.ticket_id


async def kb_events(tier: Tier) -> list:
    async with tier.db.read() as session:
        query = select(OutboxMessage).where(OutboxMessage.topic == KB_ARTICLES).order_by(col(OutboxMessage.id))
        rows = (await session.exec(query)).all()
    return [decode([(n, v.encode()) for n, v in r.headers], r.value) for r in rows]


async def test_an_article_from_a_ticket_resolved_here_starts_from_its_resolution_and_is_published(tier):
    ticket_id = await held_ticket(tier, "resolved", resolution="Restarted the transport service.")
    article = await publish_article(tier, ArticleCreate(from_ticket_id=ticket_id, tags=["Mail"]), author="bob")
    assert (article.title, article.category, article.language) == ("Mail server down", "server", "en")
    assert article.version == 1
    assert article.body.endswith("Restarted the transport service.") and article.tags == ["server", "mail"]
    [event] = await kb_events(tier)
    assert (event.type, event.subject, event.data.title) == ("kb.article_published", article.article_id, article.title)


async def test_an_article_cannot_start_from_a_ticket_still_open(tier):
    ticket_id = await held_ticket(tier, "in_progress")
    with pytest.raises(TicketNotResolved):
        await publish_article(tier, ArticleCreate(from_ticket_id=ticket_id), author="bob")
    assert await kb_events(tier) == []


async def test_updates_and_retirement_make_new_versions_and_a_stale_edit_changes_nothing(tier):
    created = ArticleCreate(title="VPN", body="Restart it.", language="en", category="network")
    article = await publish_article(tier, created, author="bob")
    content = created.model_dump(exclude={"from_ticket_id"})
    edit = ArticleUpdate(**{**content, "body": "Restart the client."})
    await update_article(tier, article.article_id, edit, author="bob")
    with pytest.raises(StaleEdit):
        await update_article(tier, article.article_id, ArticleUpdate(**{**content, "version": 1}), author="bob")
    retired = await retire_article(tier, article.article_id, author="carol", replacing=None)
    assert (retired.status, retired.version) == ("retired", 3)
    events = await kb_events(tier)
    assert [(e.type, e.data.version) for e in events] == [
        ("kb.article_published", 1), ("kb.article_updated", 2), ("kb.article_retired", 3)
    ]
