"""Routing submissions into the database, one event at a time and a fetch at once, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import text

from shared.db import Database
from shared.messages import decode, new_event
from shared.messages.common import Requester
from shared.messages.tickets import TicketSubmitted
from shared.migrations import upgrade

from services.triage.evaluation.evaluate import load_labelled
from services.triage.knowledge import handlers as knowledge
from services.triage.knowledge.handlers import KnowledgeBase
from services.triage.knowledge.index import index_for
from services.triage.knowledge.starter import load_starter
from services.triage.routing.handlers import Triage, route_ticket, route_tickets
from services.triage.routing.rulebook import load_rules

NOW = datetime(2025, 3, 3, 9, tzinfo=UTC)


@pytest.fixture
async def triage(database_url):
    db = Database(database_url)
    await upgrade(db, "triage")
    kb = KnowledgeBase(db=db, index=index_for(db))
    await knowledge.prepare(kb, load_starter())
    yield Triage(rules=load_rules(), kb=kb)
    await db.dispose()


def submissions(prefix: str, count: int = 40):
    labelled = load_labelled()[:count]
    return [
        new_event("intake", TicketSubmitted(
            ticket_id=f"{prefix}-{i}", title=t.title, description=t.description, organization="acme",
            requester=Requester(email="ann@example.org", name="Ann", language=t.language),
            impact=("low", "medium", "high")[i % 3], urgency="high", category_hint=t.hint, submitted_at=NOW,
        ))
        for i, t in enumerate(labelled)
    ]


async def written(triage: Triage, prefix: str) -> tuple[list, list]:
    """The decisions and outbox events about `prefix`'s tickets, their ids without the prefix."""
    async with triage.kb.db.read() as session:
        conn = await session.connection()
        decisions = (await conn.execute(text(
            "SELECT ticket_id, category, tier, specialty, priority, explanation FROM triage_decisions "
            "WHERE ticket_id LIKE :p ORDER BY ticket_id"), {"p": f"{prefix}-%"})).all()
        rows = (await conn.execute(text("SELECT topic, headers, value FROM outbox ORDER BY id"))).all()
    events = []
    for topic, headers, value in rows:
        headers = orjson.loads(headers) if isinstance(headers, str) else headers
        event = decode([(name, raw.encode()) for name, raw in headers], bytes(value))
        if event.subject.startswith(f"{prefix}-"):
            data = orjson.dumps(event.data.model_dump(mode="json")).decode().replace(f'"{prefix}-', '"x-')
            events.append((topic, event.type, data))
    return [(d[0].removeprefix(prefix), *d[1:]) for d in decisions], sorted(events)


async def suggested_counts(triage: Triage) -> dict[str, int]:
    async with triage.kb.db.read() as session:
        rows = await (await session.connection()).execute(text("SELECT article_id, suggested FROM kb_articles"))
        return dict(rows.all())


async def test_a_fetch_routed_at_once_writes_what_routing_each_event_writes(triage):
    async with triage.kb.db.unit_of_work() as session:
        for event in submissions("one"):
            await route_ticket(session, event, triage=triage)
    once = await suggested_counts(triage)
    async with triage.kb.db.unit_of_work() as session:
        await route_tickets(session, submissions("all"), triage=triage)
    twice = await suggested_counts(triage)

    one_by_one, at_once = await written(triage, "one"), await written(triage, "all")
    assert len(one_by_one[0]) == 40 and any(e[1] == "ticket.articles_suggested" for e in one_by_one[1])
    assert at_once == one_by_one
    assert sum(once.values()) > 0 and twice == {article: 2 * n for article, n in once.items()}


async def test_a_ticket_submitted_twice_in_one_fetch_is_decided_once(triage):
    first, again = submissions("dup", 1) * 2  # the same ticket under two event ids
    again = new_event("intake", again.data)
    async with triage.kb.db.unit_of_work() as session:
        await route_ticket(session, first, triage=triage)
        await route_ticket(session, again, triage=triage)
    async with triage.kb.db.unit_of_work() as session:
        await route_tickets(session, [first, again], triage=triage)  # decided in an earlier fetch
    async with triage.kb.db.unit_of_work() as session:
        await route_tickets(session, submissions("twin", 1) * 2, triage=triage)

    for prefix in ("dup", "twin"):
        decisions, events = await written(triage, prefix)
        assert len(decisions) == 1
        assert sorted(e[1] for e in events) == sorted(
            ["ticket.triaged", "ticket.articles_suggested", "ticket.routed", "ticket.routed"]
        ), events
