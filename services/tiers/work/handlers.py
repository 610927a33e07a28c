"""Working tickets at a tier, as use cases: each one unit of work, one commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal, Role
from shared.db import utcnow
from shared.errors import NotFound
from shared.lifecycle import Status
from shared.messages import Envelope, PoisonMessage, new_event
from shared.messages.common import CommentSnapshot, Payload, TicketSnapshot
from shared.messages.tickets import (
    RequesterReplied,
    TicketClosed,
    TicketEscalated,
    TicketReopened,
    TicketResolved,
)
from shared.messaging import preload
from shared.messaging.outbox import add_handoff, add_to_outbox
from shared.topics import TICKETS_EVENTS, tier_topic

from services.tiers.tier import Tier
from services.tiers.work.domain import WorkItem
from services.tiers.work.models import TierTicket
from services.tiers.work.sla import TierSla


def _item(row: TierTicket, tier: Tier, now: datetime) -> WorkItem:
    return WorkItem(
        tier=tier.number,
        snapshot=TicketSnapshot.model_validate(row.snapshot),
        contract=tier.contracts.for_organization(row.organization),
        sla=TierSla.model_validate(row.sla),
        now=now,
        status=Status(row.status),
        here=row.here,
        assignee=row.assignee,
        comments=[CommentSnapshot.model_validate(c) for c in row.comments],
    )


# session.info: the earliest alarm a unit of work set, for the alarm clock to look at after commit.
ALARM_SET = "tier_alarm_set"


def _store(session: AsyncSession, row: TierTicket, item: WorkItem) -> None:
    row.status = item.status
    row.here = item.here
    row.assignee = item.assignee
    row.specialty = item.snapshot.specialty
    row.comments = [c.model_dump(mode="json") for c in item.comments]
    row.sla = item.sla.model_dump(mode="json")
    row.next_alarm_at = item.next_alarm_at
    row.sla_due_at = item.sla.due_at(item.contract)
    row.updated_at = item.now
    earliest = session.info.get(ALARM_SET)
    if row.next_alarm_at is not None and (earliest is None or row.next_alarm_at < earliest):
        session.info[ALARM_SET] = row.next_alarm_at


def _stage(session: AsyncSession, tier: Tier, events: list[Payload], *, time: datetime) -> None:
    # Stamped with the instant the work item decided them, so that every clock downstream
    # (intake's view, the next tier) starts and pauses exactly where this tier's did.
    for payload in events:
        event = new_event(tier.source, payload, time=time)
        if isinstance(payload, TicketEscalated):
            add_handoff(session, event, tier_topic(payload.to_tier))
        else:
            add_to_outbox(session, TICKETS_EVENTS, event)


def _visible(row: TierTicket | None, tier: Tier, ticket_id: str, principal: Principal) -> TierTicket:
    # An organization the caller does not serve is answered like an unknown ticket: no leak.
    if row is None or not principal.sees_organization(row.organization):
        raise NotFound(f"ticket {ticket_id} is not at tier {tier.number}")
    return row


async def act(
    tier: Tier, ticket_id: str, principal: Principal, verb: Callable[[WorkItem], list[Payload]]
) -> TierTicket:
    """Apply an agent's action to a ticket held here and stage the events it causes."""
    async with tier.db.unit_of_work() as session:
        # Locked until commit where the database can (SQLite's writer already serialises): two
        # agents acting at once on PostgreSQL both read it unclaimed, and both claims went through.
        row = _visible(await session.get(TierTicket, ticket_id, with_for_update=True), tier, ticket_id, principal)
        now = utcnow()
        item = _item(row, tier, now)
        events = verb(item)
        item.record(events)
        _store(session, row, item)
        _stage(session, tier, events, time=now)
    return row


async def claim_ticket(tier: Tier, ticket_id: str, principal: Principal) -> TierTicket:
    """Take a queued ticket: it is in progress with the caller."""
    return await act(tier, ticket_id, principal, lambda item: item.claim(principal.sub))


async def assign_ticket(tier: Tier, ticket_id: str, principal: Principal, *, assignee: str) -> TierTicket:
    """A lead hands the ticket to an agent of this tier."""
    return await act(tier, ticket_id, principal, lambda item: item.reassign(assignee))


async def comment_on_ticket(
    tier: Tier, ticket_id: str, principal: Principal, *, body: str, internal: bool
) -> TierTicket:
    """Add a public or internal comment."""
    return await act(tier, ticket_id, principal, lambda item: item.comment(principal.sub, body, internal))


async def request_info(tier: Tier, ticket_id: str, principal: Principal, *, question: str) -> TierTicket:
    """Ask the requester a question; the ticket waits on them."""
    return await act(tier, ticket_id, principal, lambda item: item.request_info(principal.sub, question))


async def resolve_ticket(
    tier: Tier, ticket_id: str, principal: Principal, *, resolution: str, article_id: str | None
) -> TierTicket:
    """Resolve a claimed ticket at this tier's level."""
    return await act(tier, ticket_id, principal, lambda item: item.resolve(principal.sub, resolution, article_id))


async def escalate_ticket(
    tier: Tier, ticket_id: str, principal: Principal, *, reason: str, specialty: str | None
) -> TierTicket:
    """Hand the ticket to the next tier (refused at tier 3)."""
    verb = lambda item: item.escalate(reason, by=principal.sub, specialty=specialty)  # noqa: E731
    return await act(tier, ticket_id, principal, verb)


async def fire_due_alarms(tier: Tier, ticket_id: str) -> list[Payload]:
    """Fire the SLA alarms of one ticket that are due now; the events they caused."""
    async with tier.db.unit_of_work() as session:
        row = await session.get(TierTicket, ticket_id, with_for_update=True)  # as in act(): replicas
        if row is None or row.next_alarm_at is None:
            return []
        now = utcnow()
        item = _item(row, tier, now)
        events = item.tick()
        _store(session, row, item)
        _stage(session, tier, events, time=now)
    return events


async def due_tickets(tier: Tier, *, until: datetime, limit: int = 100) -> list[str]:
    """Ids of the tickets whose next alarm is due by `until`, earliest first."""
    async with tier.db.read() as session:
        query = (
            select(TierTicket.id)
            .where(col(TierTicket.next_alarm_at) <= until)
            .order_by(col(TierTicket.next_alarm_at))
            .limit(limit)
        )
        return list((await session.exec(query)).all())


async def next_alarm_at(tier: Tier) -> datetime | None:
    """The earliest pending alarm of any ticket."""
    async with tier.db.read() as session:
        return (await session.exec(select(func.min(TierTicket.next_alarm_at)))).one()


async def receive_handoff(session: AsyncSession, event: Envelope, *, tier: Tier) -> None:
    """Queue a ticket routed or escalated to this tier, from the snapshot it carries."""
    snapshot: TicketSnapshot | None = event.data.snapshot
    if snapshot is None:
        raise PoisonMessage(f"{event.type} on {tier_topic(tier.number)} carries no ticket snapshot")
    row = await preload.get(session, TierTicket, snapshot.ticket_id)
    if row is None:
        row = TierTicket(
            id=snapshot.ticket_id,
            status=Status.QUEUED,
            priority=snapshot.priority,
            category=snapshot.category,
            organization=snapshot.organization,
            snapshot={},
        )
        session.add(row)
    row.snapshot = snapshot.model_dump(mode="json")
    row.priority = snapshot.priority
    row.queued_at = now = utcnow()
    contract = tier.contracts.for_organization(snapshot.organization)
    _store(session, row, WorkItem.arrived(tier.number, snapshot, contract, now))


async def on_requester_event(session: AsyncSession, event: Envelope, *, tier: Tier) -> None:
    """Follow what the requester did (reply, self-resolve, reopen, close) or the monitoring system that raised it (resolve)."""
    row = await preload.get(session, TierTicket, event.subject)
    if row is None:
        return
    item = _item(row, tier, event.time)
    match event.data:
        case RequesterReplied():
            item.requester_replied()
        case TicketResolved(level=0) | TicketResolved(from_source=True):
            item.resolved_by_requester()
        case TicketReopened() if event.data.tier == tier.number and row.status == Status.RESOLVED:
            item.reopened()
        case TicketClosed():
            item.closed()
        case _:
            return
    item.record([event.data])
    _store(session, row, item)


def sla_view(tier: Tier, row: TierTicket) -> dict:
    """The ticket's clocks as agents read them now."""
    sla = TierSla.model_validate(row.sla)
    return sla.view(tier.number, utcnow(), tier.contracts.for_organization(row.organization))


async def get_ticket(tier: Tier, ticket_id: str, principal: Principal) -> TierTicket:
    """The agent's view of a ticket this tier holds or held."""
    async with tier.db.read() as session:
        return _visible(await session.get(TierTicket, ticket_id), tier, ticket_id, principal)


_PRIORITY_ORDER = case({"P1": 1, "P2": 2, "P3": 3, "P4": 4}, value=TierTicket.priority, else_=5)


async def queue(
    tier: Tier,
    principal: Principal,
    *,
    status: str | None,
    specialty: str | None,
    assignee: str | None,
    limit: int,
    offset: int,
) -> tuple[list[TierTicket], int]:
    """The tickets this tier holds for organizations the caller serves, the earliest SLA due time first."""
    filters = [TierTicket.here == True]  # noqa: E712 (SQL expression)
    if principal.role != Role.OPS and "*" not in principal.orgs:
        filters.append(col(TierTicket.organization).in_(principal.orgs))
    if status:
        filters.append(TierTicket.status == status)
    else:
        filters.append(col(TierTicket.status).in_([Status.QUEUED, Status.IN_PROGRESS, Status.WAITING_ON_REQUESTER]))
    if specialty:
        filters.append(TierTicket.specialty == specialty)
    if assignee:
        filters.append(TierTicket.assignee == assignee)
    async with tier.db.read() as session:
        total = (await session.exec(select(func.count()).select_from(TierTicket).where(*filters))).one()
        rows = (
            await session.exec(
                select(TierTicket)
                .where(*filters)
                .order_by(col(TierTicket.sla_due_at).is_(None), col(TierTicket.sla_due_at), _PRIORITY_ORDER)
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return list(rows), total
