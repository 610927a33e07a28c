"""Intake's use cases called directly, without the broker, on a real database with intake's tables.

Tickets are submitted and moved by the same use cases the service runs: submission, the
projection of tier facts, and the requester's actions; each test reads back the view and the
outbox the unit of work left behind.
"""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlmodel import col, select

from shared.auth import Principal, Role
from shared.db import Database, utcnow
from shared.errors import NotFound
from shared.lifecycle import IllegalTransition
from shared.messages import Envelope, new_event
from shared.messages.common import Payload
from shared.messages.tickets import InfoRequested, TicketAssigned, TicketResolved, TicketRouted
from shared.messaging.inbox import InboxEntry
from shared.messaging.outbox import OutboxMessage
from shared.sla.contracts import Contracts
from shared.topics import TICKETS_EVENTS

from services.intake.models import MODELS, IntakeTicket
from services.intake.requester import handlers
from services.intake.requester.domain import AlreadyRated, CannotReopen
from services.intake.submission.handlers import submit_ticket
from services.intake.submission.schemas import TicketCreate

ANN = Principal(sub="ann@acme.example", role=Role.REQUESTER, org="acme")
BOB = Principal(sub="bob@acme.example", role=Role.REQUESTER, org="acme")
WEEK = timedelta(days=7)
GRACE = timedelta(days=3)
SUBMISSION = {
    "title": "VPN drops every ten minutes",
    "description": "Since this morning the VPN client disconnects every ten minutes or so.",
    "requester": {"email": "ann@acme.example", "name": "Ann", "language": "en"},
    "organization": "acme",
    "impact": "medium",
    "urgency": "medium",
}


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.create_tables([*MODELS, OutboxMessage, InboxEntry])
    yield database
    await database.dispose()


async def submitted(db: Database) -> str:
    accepted, _ = await submit_ticket(db, body=TicketCreate.model_validate(SUBMISSION), idempotency_key=None)
    return accepted.id


async def project(db: Database, *facts: Payload, source: str = "tier1") -> list[Envelope]:
    """Apply tier facts to intake's view as its subscriber does, each in its own transaction."""
    events = [new_event(source, fact) for fact in facts]
    for event in events:
        async with db.unit_of_work() as session:
            await handlers.apply_ticket_event(session, event, contracts=Contracts.load(None))
    return events


async def worked_on(db: Database) -> str:
    ticket_id = await submitted(db)
    await project(
        db,
        TicketRouted(ticket_id=ticket_id, tier=1, priority="P3"),
        TicketAssigned(ticket_id=ticket_id, tier=1, assignee="alice"),
    )
    return ticket_id


async def resolved(db: Database) -> str:
    ticket_id = await worked_on(db)
    await project(db, TicketResolved(ticket_id=ticket_id, level=1, resolution="new VPN profile"))
    return ticket_id


async def view(db: Database, ticket_id: str) -> IntakeTicket:
    async with db.read() as session:
        return await session.get(IntakeTicket, ticket_id)


async def staged(db: Database, ticket_id: str) -> list[tuple[str, dict]]:
    """The facts intake staged on `tickets.events` for the ticket since its submission, in order."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.topic == TICKETS_EVENTS, OutboxMessage.key == ticket_id.encode())
        .order_by(col(OutboxMessage.id))
    )
    async with db.read() as session:
        rows = (await session.exec(query)).all()
    facts = [(dict(r.headers)["ce_type"], orjson.loads(r.value)) for r in rows]
    return [(t, data) for t, data in facts if t != "ticket.submitted"]


async def test_a_reply_to_a_question_is_staged_for_the_agents_and_resumes_the_ticket(db):
    ticket_id = await worked_on(db)
    await project(db, InfoRequested(ticket_id=ticket_id, tier=1, author="alice", question="Which VPN client?"))

    ticket, event = await handlers.reply_to_ticket(db, ticket_id=ticket_id, principal=ANN, body="FortiClient 7.2")

    assert (ticket.status, event.type) == ("in_progress", "ticket.requester_replied")
    assert (await view(db, ticket_id)).status == "in_progress"
    assert await staged(db, ticket_id) == [
        ("ticket.requester_replied", {"ticket_id": ticket_id, "body": "FortiClient 7.2"})
    ]


async def test_a_reopen_of_a_ticket_that_is_not_resolved_is_refused_and_stages_nothing(db):
    ticket_id = await worked_on(db)

    with pytest.raises(CannotReopen, match="not resolved"):
        await handlers.reopen_ticket(db, ticket_id=ticket_id, principal=ANN, reason="again", window=WEEK)

    assert (await view(db, ticket_id)).status == "in_progress"
    assert await staged(db, ticket_id) == []


async def test_a_reopen_of_a_resolved_ticket_sends_it_back_to_the_agent_who_resolved_it(db):
    ticket_id = await resolved(db)

    ticket, _ = await handlers.reopen_ticket(db, ticket_id=ticket_id, principal=ANN, reason="drops again", window=WEEK)

    assert (ticket.status, ticket.level, ticket.resolved_at) == ("in_progress", None, None)
    assert await staged(db, ticket_id) == [
        ("ticket.reopened", {"ticket_id": ticket_id, "tier": 1, "reason": "drops again"})
    ]


async def test_a_rating_records_the_tiers_the_ticket_went_through_once_per_resolution(db):
    ticket_id = await resolved(db)

    await handlers.rate_resolution(db, ticket_id=ticket_id, principal=ANN, score=4, comment="quick")
    with pytest.raises(AlreadyRated):
        await handlers.rate_resolution(db, ticket_id=ticket_id, principal=ANN, score=1, comment="changed my mind")

    assert await staged(db, ticket_id) == [
        ("ticket.rated", {"ticket_id": ticket_id, "score": 4, "comment": "quick", "tiers": [1]})
    ]
    assert (await view(db, ticket_id)).rated_resolution == 1


async def test_a_self_resolution_resolves_the_ticket_at_level_0_and_a_second_one_is_refused(db):
    ticket_id = await submitted(db)
    await project(db, TicketRouted(ticket_id=ticket_id, tier=1, priority="P3"))

    ticket, event = await handlers.resolve_by_self_service(
        db, ticket_id=ticket_id, principal=ANN, article_id="kb-vpn-reconnect"
    )
    with pytest.raises(IllegalTransition):
        await handlers.resolve_by_self_service(db, ticket_id=ticket_id, principal=ANN, article_id="kb-vpn-reconnect")

    assert (ticket.status, ticket.level) == ("resolved", 0)
    assert await staged(db, ticket_id) == [
        (
            "ticket.resolved",
            {
                "ticket_id": ticket_id,
                "level": 0,
                "resolution": "Resolved by the requester with knowledge-base article kb-vpn-reconnect.",
                "article_id": "kb-vpn-reconnect",
                "by": "ann@acme.example",
                "tier_seconds": {},
                "from_source": False,
            },
        )
    ]
    assert event.type == "ticket.resolved"


async def test_a_self_resolution_read_back_from_the_bus_is_counted_once_and_can_be_rated_once(db):
    ticket_id = await submitted(db)
    _, event = await handlers.resolve_by_self_service(db, ticket_id=ticket_id, principal=ANN, article_id="kb-1")
    before = await view(db, ticket_id)
    assert (before.resolution_count, before.resolved_at) == (0, None)  # counted when it comes back

    async with db.unit_of_work() as session:
        await handlers.apply_ticket_event(session, event, contracts=Contracts.load(None))

    after = await view(db, ticket_id)
    assert (after.status, after.level, after.resolution_count, after.resolved_at) == ("resolved", 0, 1, event.time)
    await handlers.rate_resolution(db, ticket_id=ticket_id, principal=ANN, score=5, comment="")
    with pytest.raises(AlreadyRated):
        await handlers.rate_resolution(db, ticket_id=ticket_id, principal=ANN, score=5, comment="")


async def test_another_requester_cannot_self_resolve_a_ticket_and_learns_nothing_of_it(db):
    ticket_id = await submitted(db)

    with pytest.raises(NotFound):
        await handlers.resolve_by_self_service(db, ticket_id=ticket_id, principal=BOB, article_id="kb-1")

    assert (await view(db, ticket_id)).status == "new"
    assert await staged(db, ticket_id) == []


async def test_auto_close_closes_a_ticket_resolved_longer_than_the_grace_period_once(db):
    ticket_id = await resolved(db)
    later = utcnow() + GRACE + timedelta(seconds=1)

    assert await handlers.tickets_due_to_close(db, now=later, grace=GRACE, limit=10) == [ticket_id]
    assert await handlers.close_resolved_ticket(db, ticket_id=ticket_id, now=later, grace=GRACE)
    assert not await handlers.close_resolved_ticket(db, ticket_id=ticket_id, now=later, grace=GRACE)

    assert (await view(db, ticket_id)).status == "closed"
    assert await staged(db, ticket_id) == [("ticket.closed", {"ticket_id": ticket_id, "reason": "automatic"})]
    assert await handlers.next_close_due(db, grace=GRACE) is None


async def test_auto_close_leaves_a_ticket_within_its_grace_period_or_reopened_meanwhile(db):
    recent, reopened = await resolved(db), await resolved(db)
    due_at = (await view(db, recent)).resolved_at + GRACE
    await handlers.reopen_ticket(db, ticket_id=reopened, principal=ANN, reason="", window=WEEK)

    assert not await handlers.close_resolved_ticket(db, ticket_id=recent, now=utcnow(), grace=GRACE)
    assert not await handlers.close_resolved_ticket(db, ticket_id=reopened, now=due_at, grace=GRACE)

    assert await handlers.next_close_due(db, grace=GRACE) == due_at
    assert [t for t, _ in await staged(db, recent)] == []
    assert [t for t, _ in await staged(db, reopened)] == ["ticket.reopened"]
