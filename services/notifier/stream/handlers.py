"""The stream's use cases: store each public event, read them back from a resume point, check who may follow."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal
from shared.db import Database, stage_insert
from shared.errors import NotFound
from shared.messages import Envelope

from services.notifier.models import NotifierTicket
from services.notifier.stream.models import StreamEvent

# Set on a session that staged rows worth waking for; read by the commit hook (see main.py).
NEW_STREAM_EVENTS = "notifier_new_stream_events"


def stage_event(session: AsyncSession, event: Envelope, data: dict, *, organization: str | None) -> None:
    """Stage a public event for the stream, to be numbered at commit; its listeners are woken then."""
    # Rows, not ORM objects: inserted in bulk at commit (nothing reads them back before).
    row = {
        "event_id": event.id,
        "ticket_id": event.subject,
        "organization": organization,
        "type": event.type,
        "time": event.time,
        "data": data,
    }
    stage_insert(session, StreamEvent.__table__, row)
    session.info[NEW_STREAM_EVENTS] = True


def committed_events(session: AsyncSession) -> bool:
    """Whether the session that just committed stored stream events; clears the mark."""
    return bool(session.info.pop(NEW_STREAM_EVENTS, False))


async def require_ticket(db: Database, *, ticket_id: str, principal: Principal) -> NotifierTicket:
    """The ticket, or NotFound if it is unknown here or not the caller's to see."""
    async with db.read() as session:
        ticket = await session.get(NotifierTicket, ticket_id)
    if ticket is None or not principal.sees_ticket(organization=ticket.organization, requester=ticket.requester_email):
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


async def stream_events_after(
    db: Database,
    *,
    after: int,
    limit: int,
    ticket_id: str | None = None,
    organizations: Collection[str] | None = None,
    types: Collection[str] = (),
) -> list[StreamEvent]:
    """Stream events with seq > after, oldest first, matching every given filter (organizations None: all)."""
    query = select(StreamEvent).where(col(StreamEvent.seq) > after)
    if ticket_id is not None:
        query = query.where(StreamEvent.ticket_id == ticket_id)
    if organizations is not None:
        query = query.where(col(StreamEvent.organization).in_(organizations))
    if types:
        query = query.where(col(StreamEvent.type).in_(types))
    async with db.read() as session:
        return list((await session.exec(query.order_by(col(StreamEvent.seq)).limit(limit))).all())


async def latest_seq(db: Database) -> int:
    """The seq of the newest stream event (0 if none): where a stream with no resume point starts."""
    async with db.read() as session:
        return (await session.exec(select(func.max(StreamEvent.seq)))).one() or 0
