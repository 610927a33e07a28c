"""Notifier's use case of each fact: remember the ticket, store a public event for the stream, stage every delivery."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import execute, stage_insert_returning, utcnow
from shared.messages import Envelope, is_public
from shared.messages.tickets import TicketSubmitted
from shared.messaging import preload

from services.notifier.dispatch.domain import lane_of
from services.notifier.dispatch.ledger import NEW_DELIVERIES
from services.notifier.dispatch.models import Delivery
from services.notifier.domain import DeliveryStatus, event_body
from services.notifier.fanout.domain import (
    CONTACT_FIELDS,
    EmailOptions,
    PlannedDelivery,
    SubscriptionTarget,
    TicketContact,
    plan,
    public_data,
)
from services.notifier.models import NotifierTicket
from services.notifier.stream import handlers as stream
from services.notifier.subscriptions.models import Subscription


async def record_event(session: AsyncSession, event: Envelope, *, email: EmailOptions | None = None) -> None:
    """Remember a submitted ticket; stage a public event for the stream, and every delivery it causes."""
    if isinstance(event.data, TicketSubmitted):
        ticket = await _upsert_ticket(session, event.data)
    else:
        ticket = await preload.get(session, NotifierTicket, event.subject)
    public = is_public(event.type, event.data)
    data = public_data(event.data)
    if public:
        stream.stage_event(session, event, data, organization=ticket.organization if ticket else None)
    planned = plan(
        public=public,
        event_type=event.type,
        data=data,
        alert_contact=getattr(event.data, "alert_contact", None),
        ticket=_contact(ticket),
        subscriptions=await _subscriptions_of(session, ticket.organization) if ticket and public else (),
        email=email,
    )
    _stage_deliveries(session, event, data, planned)


def _stage_deliveries(session: AsyncSession, event: Envelope, data: dict, planned: list[PlannedDelivery]) -> None:
    if not planned:
        return
    body = event_body(
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
    contact = TicketContact.of(data)
    fields = {name: getattr(contact, name) for name in CONTACT_FIELDS}
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
    return TicketContact(ticket_id=ticket.id, **{name: getattr(ticket, name) for name in CONTACT_FIELDS})


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
        targets = read[organization] = [
            SubscriptionTarget(id=id_, url=url, events=tuple(events)) for id_, url, events in rows
        ]
    return targets
