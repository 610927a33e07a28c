"""Notifier's use cases on the stream side: record each fact, feed the live streams."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal
from shared.db import Database, execute, stage_insert, stage_insert_returning, utcnow
from shared.errors import NotFound
from shared.messages import Envelope, is_public
from shared.messages.tickets import TicketSubmitted
from shared.messaging import preload

from services.notifier import domain, fanout
from services.notifier.dispatch.domain import lane_of
from services.notifier.dispatch.ledger import NEW_DELIVERIES
from services.notifier.dispatch.models import Delivery
from services.notifier.domain import PENDING_FIELDS, DeliveryStatus, PendingDelivery
from services.notifier.fanout import EmailOptions, PlannedDelivery, SubscriptionTarget, TicketContact
from services.notifier.models import NotifierTicket, StreamEvent
from services.notifier.subscriptions.models import Subscription

# Set on a session that staged rows worth waking for; read by the commit hook (see main.py).
NEW_STREAM_EVENTS = "notifier_new_stream_events"


async def record_event(session: AsyncSession, event: Envelope, *, email: EmailOptions | None = None) -> None:
    """Remember a submitted ticket; stage a public event for the stream, and every delivery it causes."""
    if isinstance(event.data, TicketSubmitted):
        ticket = await _upsert_ticket(session, event.data)
    else:
        ticket = await preload.get(session, NotifierTicket, event.subject)
    public = is_public(event.type, event.data)
    data = domain.public_data(event.data)
    if public:
        _stage_stream_event(session, event, data, ticket)
    planned = fanout.plan(
        public=public,
        event_type=event.type,
        data=data,
        alert_contact=getattr(event.data, "alert_contact", None),
        ticket=_contact(ticket),
        subscriptions=await _subscriptions_of(session, ticket.organization) if ticket and public else (),
        email=email,
    )
    _stage_deliveries(session, event, data, planned)


def _stage_stream_event(session: AsyncSession, event: Envelope, data: dict, ticket: NotifierTicket | None) -> None:
    # Rows, not ORM objects: inserted in bulk at commit (nothing reads them back before).
    row = {
        "event_id": event.id,
        "ticket_id": event.subject,
        "organization": ticket.organization if ticket else None,
        "type": event.type,
        "time": event.time,
        "data": data,
    }
    stage_insert(session, StreamEvent.__table__, row)
    session.info[NEW_STREAM_EVENTS] = True


def _stage_deliveries(session: AsyncSession, event: Envelope, data: dict, planned: list[PlannedDelivery]) -> None:
    if not planned:
        return
    body = domain.event_body(
        event_id=event.id, event_type=event.type, time=event.time, ticket_id=event.subject, data=data
    )
    now = utcnow()
    staged = session.info.setdefault(NEW_DELIVERIES, [])
    for p in planned:
        row = {
            "event_id": event.id,
            "ticket_id": event.subject,
            "channel": p.channel,
            "target": p.target,
            "lane": lane_of(p.target, event.subject),
            "endpoint": p.endpoint,
            "subscription_id": p.subscription_id,
            "url": p.url,
            "body": body,
            "message": p.message,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        stage_insert_returning(session, Delivery.__table__, row, unique=("event_id", "target"))
        staged.append(row)


async def _upsert_ticket(session: AsyncSession, data: TicketSubmitted) -> NotifierTicket:
    fields = {
        "organization": data.organization,
        "callback_url": data.callback_url,
        "language": data.requester.language,
        "requester_email": data.requester.email,
        "requester_name": data.requester.name,
        "title": data.title,
    }
    ticket = await preload.get(session, NotifierTicket, data.ticket_id)
    if ticket is None:
        ticket = NotifierTicket(id=data.ticket_id, **fields)
        session.add(ticket)
    else:
        for name, value in fields.items():
            setattr(ticket, name, value)
    return ticket


def _contact(ticket: NotifierTicket | None) -> TicketContact | None:
    if ticket is None:
        return None
    return TicketContact(
        ticket_id=ticket.id,
        organization=ticket.organization,
        callback_url=ticket.callback_url,
        language=ticket.language,
        requester_email=ticket.requester_email,
        requester_name=ticket.requester_name,
        title=ticket.title,
    )


# Built once: making the statement showed in profiles, once per event.
_SUBSCRIPTIONS_OF = (
    select(Subscription.id, Subscription.url, Subscription.events)
    .where(Subscription.organization == bindparam("organization"))
    .order_by(col(Subscription.created_at))
)


# session.info: organization -> its subscriptions, read once per batch (one transaction).
_SUBSCRIPTIONS_READ = "notifier_subscriptions_read"


async def _subscriptions_of(session: AsyncSession, organization: str) -> list[SubscriptionTarget]:
    read = session.info.setdefault(_SUBSCRIPTIONS_READ, {})
    if (targets := read.get(organization)) is None:
        rows = (await execute(session, _SUBSCRIPTIONS_OF, {"organization": organization})).all()
        targets = read[organization] = [SubscriptionTarget(id=id_, url=url, events=tuple(events)) for id_, url, events in rows]
    return targets


def committed_changes(session: AsyncSession) -> tuple[bool, list[PendingDelivery]]:
    """(new stream events?, the deliveries now pending) of the session that just committed; clears both."""
    pending = [PendingDelivery(**{f: row[f] for f in PENDING_FIELDS}) for row in session.info.pop(NEW_DELIVERIES, ())]
    return bool(session.info.pop(NEW_STREAM_EVENTS, False)), pending


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
