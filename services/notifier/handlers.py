"""Notifier's use cases: each one unit of work, one commit."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, utcnow
from shared.errors import NotFound
from shared.messages import Envelope, is_public
from shared.messages.tickets import TicketSubmitted

from services.notifier import domain
from services.notifier.domain import DeliveryStatus, FailureOutcome
from services.notifier.models import Delivery, NotifierTicket, StreamEvent

# Set on a session that staged rows worth waking for; read by the commit hook (see main.py).
NEW_STREAM_EVENTS = "notifier_new_stream_events"
NEW_DELIVERIES = "notifier_new_deliveries"
_MAX_ERROR_CHARS = 1000


async def record_event(session: AsyncSession, event: Envelope) -> None:
    """Remember a submitted ticket; stage a public event for the stream and its webhook call."""
    if isinstance(event.data, TicketSubmitted):
        ticket = await _upsert_ticket(session, event.data)
    else:
        ticket = await session.get(NotifierTicket, event.subject)
    if not is_public(event.type, event.data):
        return
    data = domain.public_data(event.data)
    session.add(
        StreamEvent(
            event_id=event.id,
            ticket_id=event.subject,
            organization=ticket.organization if ticket else None,
            type=event.type,
            time=event.time,
            data=data,
        )
    )
    session.info[NEW_STREAM_EVENTS] = True
    if ticket is not None and ticket.callback_url:
        body = domain.event_body(
            event_id=event.id, event_type=event.type, time=event.time, ticket_id=event.subject, data=data
        )
        session.add(Delivery(event_id=event.id, ticket_id=event.subject, url=ticket.callback_url, body=body))
        session.info[NEW_DELIVERIES] = True


async def _upsert_ticket(session: AsyncSession, data: TicketSubmitted) -> NotifierTicket:
    fields = {
        "organization": data.organization,
        "callback_url": data.callback_url,
        "language": data.requester.language,
        "requester_email": data.requester.email,
    }
    ticket = await session.get(NotifierTicket, data.ticket_id)
    if ticket is None:
        ticket = NotifierTicket(id=data.ticket_id, **fields)
        session.add(ticket)
    else:
        for name, value in fields.items():
            setattr(ticket, name, value)
    return ticket


def committed_changes(session: AsyncSession) -> tuple[bool, bool]:
    """(new stream events, new deliveries) staged by the session that just committed; clears both."""
    return bool(session.info.pop(NEW_STREAM_EVENTS, False)), bool(session.info.pop(NEW_DELIVERIES, False))


async def require_ticket(db: Database, *, ticket_id: str) -> NotifierTicket:
    """The ticket, or NotFound."""
    async with db.read() as session:
        ticket = await session.get(NotifierTicket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


async def stream_events_after(
    db: Database,
    *,
    after: int,
    limit: int,
    ticket_id: str | None = None,
    organization: str | None = None,
    types: Collection[str] = (),
) -> list[StreamEvent]:
    """Stream events with seq > after, oldest first, matching every given filter."""
    query = select(StreamEvent).where(col(StreamEvent.seq) > after)
    if ticket_id is not None:
        query = query.where(StreamEvent.ticket_id == ticket_id)
    if organization is not None:
        query = query.where(StreamEvent.organization == organization)
    if types:
        query = query.where(col(StreamEvent.type).in_(types))
    async with db.read() as session:
        return list((await session.exec(query.order_by(col(StreamEvent.seq)).limit(limit))).all())


async def latest_seq(db: Database) -> int:
    """The seq of the newest stream event (0 if none): where a stream with no resume point starts."""
    async with db.read() as session:
        return (await session.exec(select(func.max(StreamEvent.seq)))).one() or 0


async def list_deliveries(
    db: Database, *, ticket_id: str | None, status: str | None, limit: int, offset: int
) -> tuple[list[Delivery], int]:
    """A page of deliveries, newest first, and how many match in all."""
    filters = []
    if ticket_id is not None:
        filters.append(Delivery.ticket_id == ticket_id)
    if status is not None:
        filters.append(Delivery.status == status)
    async with db.read() as session:
        total = (await session.exec(select(func.count()).select_from(Delivery).where(*filters))).one()
        query = select(Delivery).where(*filters).order_by(col(Delivery.id).desc()).limit(limit).offset(offset)
        rows = (await session.exec(query)).all()
    return list(rows), total


async def due_tickets(db: Database, *, now: datetime, exclude: Collection[str], limit: int) -> list[str]:
    """Tickets whose oldest pending delivery is due, oldest first; a later one never jumps the queue."""
    first = (
        select(Delivery.ticket_id, func.min(Delivery.id).label("first_id"))
        .where(Delivery.status == DeliveryStatus.PENDING)
        .group_by(Delivery.ticket_id)
        .subquery()
    )
    query = (
        select(Delivery.ticket_id)
        .join(first, col(Delivery.id) == first.c.first_id)
        .where(col(Delivery.next_attempt_at) <= now, col(Delivery.ticket_id).not_in(exclude))
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    async with db.read() as session:
        return list((await session.exec(query)).all())


async def next_pending(db: Database, *, ticket_id: str) -> Delivery | None:
    """The ticket's oldest pending delivery, due or not."""
    query = (
        select(Delivery)
        .where(Delivery.ticket_id == ticket_id, Delivery.status == DeliveryStatus.PENDING)
        .order_by(col(Delivery.id))
        .limit(1)
    )
    async with db.read() as session:
        return (await session.exec(query)).first()


async def mark_delivered(db: Database, *, delivery_id: int) -> None:
    """Record that the receiver took the call."""
    await _update_pending(db, delivery_id, status=DeliveryStatus.DELIVERED, delivered_at=utcnow())


async def mark_failed(db: Database, *, delivery_id: int, error: str, outcome: FailureOutcome) -> None:
    """Record a failed call: retried at `outcome.next_attempt_at`, or dead."""
    await _update_pending(
        db,
        delivery_id,
        status=outcome.status,
        attempts=outcome.attempts,
        next_attempt_at=outcome.next_attempt_at,
        last_error=error[:_MAX_ERROR_CHARS],
    )


async def _update_pending(db: Database, delivery_id: int, **values) -> None:
    async with db.unit_of_work() as session:
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery_id, Delivery.status == DeliveryStatus.PENDING)
            .values(**values)
        )
