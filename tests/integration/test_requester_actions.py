"""Requester actions and the auto-close sweep against real databases: one transaction, one event."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

import orjson
import pytest
from sqlmodel import col, select

from shared.auth import Principal, Role
from shared.errors import NotFound

from shared.db import Database, utcnow
from shared.messages import new_event
from shared.messages.tickets import TicketResolved
from shared.messaging.inbox import InboxEntry
from shared.messaging.outbox import OutboxMessage
from shared.sla.contracts import Contracts

from services.intake.models import MODELS, IntakeTicket
from services.intake.requester import domain as requester_rules
from services.intake.requester.auto_close import AutoCloser
from services.intake.requester.handlers import act, apply_ticket_event
from services.intake.settings import IntakeSettings
from tests.helpers import eventually

WEEK = timedelta(days=7)
ANN = Principal(sub="ann@acme.example", role=Role.REQUESTER, org="acme")


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.create_tables([*MODELS, OutboxMessage, InboxEntry])
    yield database
    await database.dispose()


async def resolved_ticket(db: Database, *, days_ago: float, level: int = 2, tiers=(1, 2)) -> str:
    return await ticket_in(db, status="resolved", level=level, tiers=tiers, resolved_at=utcnow() - timedelta(days=days_ago))


async def ticket_in(db: Database, *, status: str, level: int | None = 2, tiers=(1, 2), resolved_at=None) -> str:
    ticket_id = str(uuid.uuid4())
    async with db.unit_of_work() as session:
        session.add(IntakeTicket(
            id=ticket_id, title="t", description="d", requester_email="ann@acme.example", requester_name="Ann",
            language="en", organization="acme", impact="low", urgency="low", status=status, level=level,
            tier=level or 1, resolved_at=resolved_at, resolution_count=1 if resolved_at else 0,
            tiers_visited=list(tiers), assignee="bob" if level else None,  # the agent who resolved it
        ))
    return ticket_id


async def events_of(db: Database, ticket_id: str) -> list[tuple[str, dict]]:
    async with db.read() as session:
        rows = (await session.exec(
            select(OutboxMessage).where(OutboxMessage.key == ticket_id.encode()).order_by(col(OutboxMessage.id))
        )).all()
    return [(dict(r.headers)["ce_type"], orjson.loads(r.value)) for r in rows]


async def view(db: Database, ticket_id: str) -> IntakeTicket:
    async with db.read() as session:
        return await session.get(IntakeTicket, ticket_id)


async def test_a_reopen_stages_one_event_for_the_resolving_tier_and_a_second_is_refused(db):
    ticket_id = await resolved_ticket(db, days_ago=1)
    reopen = lambda t: requester_rules.reopen(t, "back again", now=utcnow(), window=WEEK)  # noqa: E731

    await act(db, ticket_id, ANN, reopen)
    with pytest.raises(requester_rules.CannotReopen):
        await act(db, ticket_id, ANN, reopen)

    assert await events_of(db, ticket_id) == [
        ("ticket.reopened", {"ticket_id": ticket_id, "tier": 2, "reason": "back again"})
    ]
    ticket = await view(db, ticket_id)
    assert (ticket.status, ticket.level, ticket.resolved_at) == ("in_progress", None, None)


async def test_a_reopen_after_the_window_is_refused_and_stages_nothing(db):
    ticket_id = await resolved_ticket(db, days_ago=8)
    with pytest.raises(requester_rules.ReopenWindowPassed):
        await act(db, ticket_id, ANN, lambda t: requester_rules.reopen(t, "", now=utcnow(), window=WEEK))
    assert await events_of(db, ticket_id) == []
    assert (await view(db, ticket_id)).status == "resolved"


async def test_a_rating_is_taken_once_per_resolution(db):
    ticket_id = await resolved_ticket(db, days_ago=0, tiers=(1, 2, 3), level=3)
    rate = lambda t: requester_rules.rate(t, 5, "great")  # noqa: E731
    await act(db, ticket_id, ANN, rate)
    with pytest.raises(requester_rules.AlreadyRated):
        await act(db, ticket_id, ANN, rate)
    assert await events_of(db, ticket_id) == [
        ("ticket.rated", {"ticket_id": ticket_id, "score": 5, "comment": "great", "tiers": [1, 2, 3]})
    ]


@pytest.mark.parametrize(
    "stranger",
    [
        Principal(sub="bob@acme.example", role=Role.REQUESTER, org="acme"),
        Principal(sub="ann@acme.example", role=Role.REQUESTER, org="globex"),
        Principal(sub="admin@globex.example", role=Role.ORG_ADMIN, org="globex"),
    ],
    ids=["another requester", "same address, another organization", "another organization's admin"],
)
async def test_only_the_requester_or_their_admin_acts_and_others_learn_nothing(db, stranger):
    ticket_id = await resolved_ticket(db, days_ago=0)
    rate = lambda t: requester_rules.rate(t, 1, "")  # noqa: E731
    with pytest.raises(NotFound):
        await act(db, ticket_id, stranger, rate)
    assert await events_of(db, ticket_id) == []

    await act(db, ticket_id, Principal(sub="admin@acme.example", role=Role.ORG_ADMIN, org="acme"), rate)
    assert [t for t, _ in await events_of(db, ticket_id)] == ["ticket.rated"]


async def test_the_sweep_closes_each_ticket_past_its_grace_period_once(db):
    old = await resolved_ticket(db, days_ago=4)
    recent = await resolved_ticket(db, days_ago=1)
    closer = AutoCloser(db, IntakeSettings(auto_close_after_s=3 * 86400), batch_size=1)

    assert await closer.sweep_once() >= 1
    assert await closer.sweep_once() == 0  # a second sweep (or a restart) sends nothing again

    assert await events_of(db, old) == [("ticket.closed", {"ticket_id": old, "reason": "automatic"})]
    assert (await view(db, old)).status == "closed"
    assert await events_of(db, recent) == []
    assert await closer.sweep_once(now=utcnow() + timedelta(days=3)) >= 1
    assert [t for t, _ in await events_of(db, recent)] == ["ticket.closed"]


async def test_two_replicas_sweeping_at_once_close_each_ticket_once(db, database_url):
    # Replicas of intake share the database and each runs the sweep: both see the same due
    # tickets, and each closes a ticket only after reading it again under its row's lock.
    due = [await resolved_ticket(db, days_ago=4) for _ in range(30)]
    replica = Database(database_url)  # its own engine and connections, as another process has
    settings = IntakeSettings(auto_close_after_s=3 * 86400)
    try:
        closed = await asyncio.gather(
            AutoCloser(db, settings, batch_size=7).sweep_once(), AutoCloser(replica, settings, batch_size=7).sweep_once()
        )
    finally:
        await replica.dispose()

    assert sum(closed) == len(due), closed
    for ticket_id in due:
        assert [t for t, _ in await events_of(db, ticket_id)] == ["ticket.closed"]


async def test_each_resolution_projected_from_the_bus_is_counted_and_timed(db):
    ticket_id = await resolved_ticket(db, days_ago=0)
    event = new_event("tier2", TicketResolved(ticket_id=ticket_id, level=2, resolution="again"))
    async with db.unit_of_work() as session:
        await apply_ticket_event(session, event, contracts=Contracts.load(None))
    ticket = await view(db, ticket_id)
    assert (ticket.resolution_count, ticket.resolved_at) == (2, event.time)


async def closed(db: Database, ticket_id: str) -> bool:
    return (await view(db, ticket_id)).status == "closed"


async def stop(loop: asyncio.Task) -> None:
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop


async def test_the_loop_closes_a_ticket_when_it_falls_due_not_at_its_next_interval(db):
    settings = IntakeSettings(auto_close_after_s=3 * 86400, auto_close_interval_s=600)
    due_soon = await resolved_ticket(db, days_ago=3 - 1 / 86400)  # due a second from now
    loop = asyncio.create_task(AutoCloser(db, settings).run())
    try:
        await eventually(lambda: closed(db, due_soon), timeout_s=15)
    finally:
        await stop(loop)
    assert [t for t, _ in await events_of(db, due_soon)] == ["ticket.closed"]


async def test_a_resolution_projected_while_the_loop_sleeps_wakes_it_to_close_the_ticket_when_due(db):
    settings = IntakeSettings(auto_close_after_s=1, auto_close_interval_s=600)
    ticket_id = await ticket_in(db, status="in_progress")
    closer = AutoCloser(db, settings)
    loop = asyncio.create_task(closer.run())
    try:
        async def asleep():
            return closer.next_sweep  # None while it sweeps; with nothing resolved, the interval away

        await eventually(asleep, timeout_s=10)
        event = new_event("tier2", TicketResolved(ticket_id=ticket_id, level=2, resolution="fixed"))
        async with db.unit_of_work() as session:
            await apply_ticket_event(session, event, contracts=Contracts.load(None))
        await eventually(lambda: closed(db, ticket_id), timeout_s=15)
    finally:
        await stop(loop)
    assert [t for t, _ in await events_of(db, ticket_id)] == ["ticket.closed"]
