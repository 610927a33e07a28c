"""The tier engine's use cases: each one unit of work, one commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, utcnow
from shared.errors import NotFound
from shared.lifecycle import Status
from shared.messages import Envelope, PoisonMessage, new_event
from shared.messages.common import CommentSnapshot, Payload, TicketSnapshot
from shared.messages.tickets import TicketEscalated
from shared.messaging.outbox import add_handoff, add_to_outbox
from shared.topics import TICKETS_EVENTS, tier_topic

from services.tiers.domain import WorkItem
from services.tiers.models import TierTicket


@dataclass(frozen=True)
class Tier:
    """Which tier this process is, and its database."""

    number: int
    db: Database

    @property
    def source(self) -> str:
        return f"tier{self.number}"


def _item(row: TierTicket, tier: int) -> WorkItem:
    return WorkItem(
        tier=tier,
        snapshot=TicketSnapshot.model_validate(row.snapshot),
        status=Status(row.status),
        here=row.here,
        assignee=row.assignee,
        comments=[CommentSnapshot.model_validate(c) for c in row.comments],
    )


def _store(row: TierTicket, item: WorkItem) -> None:
    row.status = item.status
    row.here = item.here
    row.assignee = item.assignee
    row.specialty = item.snapshot.specialty
    row.comments = [c.model_dump(mode="json") for c in item.comments]
    row.updated_at = utcnow()


def _stage(session: AsyncSession, tier: Tier, events: list[Payload]) -> None:
    for payload in events:
        event = new_event(tier.source, payload)
        if isinstance(payload, TicketEscalated):
            add_handoff(session, event, tier_topic(payload.to_tier))
        else:
            add_to_outbox(session, TICKETS_EVENTS, event)


async def act(tier: Tier, ticket_id: str, verb: Callable[[WorkItem], list[Payload]]) -> TierTicket:
    """Apply an agent's action to a ticket held here and stage the events it causes."""
    async with tier.db.unit_of_work() as session:
        row = await session.get(TierTicket, ticket_id)
        if row is None:
            raise NotFound(f"ticket {ticket_id} is not at tier {tier.number}")
        item = _item(row, tier.number)
        events = verb(item)
        _store(row, item)
        _stage(session, tier, events)
    return row


async def receive_handoff(session: AsyncSession, event: Envelope, *, tier: Tier) -> None:
    """Queue a ticket routed or escalated to this tier, from the snapshot it carries."""
    snapshot: TicketSnapshot | None = event.data.snapshot
    if snapshot is None:
        raise PoisonMessage(f"{event.type} on {tier_topic(tier.number)} carries no ticket snapshot")
    row = await session.get(TierTicket, snapshot.ticket_id)
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
    row.queued_at = utcnow()
    _store(row, WorkItem(tier=tier.number, snapshot=snapshot))


async def on_requester_event(session: AsyncSession, event: Envelope, *, tier: Tier) -> None:
    """Follow what the requester did: a reply resumes the work, a level-0 resolution ends it."""
    row = await session.get(TierTicket, event.subject)
    if row is None:
        return
    item = _item(row, tier.number)
    if event.type == "ticket.requester_replied":
        item.requester_replied()
    elif event.type == "ticket.resolved" and event.data.level == 0:
        item.resolved_by_requester()
    _store(row, item)


async def get_ticket(tier: Tier, ticket_id: str) -> TierTicket:
    """The agent's view of a ticket this tier holds or held."""
    async with tier.db.read() as session:
        row = await session.get(TierTicket, ticket_id)
    if row is None:
        raise NotFound(f"ticket {ticket_id} is not at tier {tier.number}")
    return row


_PRIORITY_ORDER = case({"P1": 1, "P2": 2, "P3": 3, "P4": 4}, value=TierTicket.priority, else_=5)


async def queue(
    tier: Tier, *, status: str | None, specialty: str | None, assignee: str | None, limit: int, offset: int
) -> tuple[list[TierTicket], int]:
    """The tickets this tier holds, most urgent first."""
    filters = [TierTicket.here == True]  # noqa: E712 (SQL expression)
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
                .order_by(_PRIORITY_ORDER, col(TierTicket.queued_at))
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return list(rows), total
