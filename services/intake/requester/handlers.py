"""The requester's use cases: their view of a ticket, projected from `tickets.events`, and what
they do with it (reply, reopen, rate, resolve with an article), and the auto-close sweep.

Each action takes the same locked unit of work (`act`, or `locked` for the sweep): the
ticket's row locked until commit, the rule checked on intake's view of it (domain.py), the
fact applied to the view at once (so a second reopen or rating sees the first) and staged on
`tickets.events` through the outbox, one commit. When the fact comes back from the broker,
the projection applies it again, which changes nothing more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal, Role
from shared.db import Database, stage_insert, utcnow
from shared.errors import NotFound
from shared.lifecycle import Status
from shared.messages import Envelope, is_public, new_event
from shared.messages.common import Payload
from shared.messaging import preload
from shared.messaging.outbox import add_to_outbox
from shared.sla.contracts import Contracts
from shared.topics import TICKETS_EVENTS

from services.intake.models import IntakeTicket, TimelineEntry
from services.intake.requester import domain
from services.intake.timeline import timeline_row

SOURCE = "intake"

# The earliest resolution a transaction projected: after its commit the auto-close loop
# (services/intake/requester/auto_close.py) wakes if that makes a ticket due before its next sweep.
RESOLVED_FLAG = "intake_resolved_at"


def visible(ticket: IntakeTicket | None, ticket_id: str, principal: Principal) -> IntakeTicket:
    """The ticket if the caller may see it; NotFound otherwise (never reveal that it exists)."""
    if ticket is None or not principal.sees_ticket(organization=ticket.organization, requester=ticket.requester_email):
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


async def get_ticket(
    db: Database, *, ticket_id: str, principal: Principal
) -> tuple[IntakeTicket, list[TimelineEntry]]:
    """The requester's view of one ticket and its public timeline, in order."""
    async with db.read() as session:
        ticket = visible(await session.get(IntakeTicket, ticket_id), ticket_id, principal)
        timeline = (
            await session.exec(
                select(TimelineEntry)
                .where(TimelineEntry.ticket_id == ticket_id)
                .order_by(col(TimelineEntry.time), col(TimelineEntry.id))  # a late fact takes its place
            )
        ).all()
    return ticket, list(timeline)


async def list_tickets(
    db: Database,
    *,
    principal: Principal,
    status: str | None,
    requester: str | None,
    organization: str | None,
    limit: int,
    offset: int,
) -> tuple[list[IntakeTicket], int]:
    """A page of the tickets the caller may see, newest first, and how many match in all."""
    filters = _visibility(principal)
    if status:
        filters.append(IntakeTicket.status == status)
    if requester:
        filters.append(IntakeTicket.requester_email == requester)
    if organization:
        filters.append(IntakeTicket.organization == organization)
    async with db.read() as session:
        total = (await session.exec(select(func.count()).select_from(IntakeTicket).where(*filters))).one()
        rows = (
            await session.exec(
                select(IntakeTicket)
                .where(*filters)
                .order_by(col(IntakeTicket.created_at).desc(), col(IntakeTicket.id))
                .limit(limit)
                .offset(offset)
            )
        ).all()
    return list(rows), total


def _visibility(principal: Principal) -> list:
    if principal.role == Role.REQUESTER:
        own = func.lower(IntakeTicket.requester_email) == principal.sub.lower()
        return [IntakeTicket.organization == principal.org, own]
    if principal.role == Role.ORG_ADMIN:
        return [IntakeTicket.organization == principal.org]
    if principal.role == Role.OPS or "*" in principal.orgs:
        return []
    return [col(IntakeTicket.organization).in_(principal.orgs)]


async def apply_ticket_event(session: AsyncSession, event: Envelope, *, contracts: Contracts) -> None:
    """Project one fact of `tickets.events` onto the requester's view."""
    ticket = await preload.get(session, IntakeTicket, event.subject)
    if ticket is None:
        return  # not submitted here (another intake's database, or purged)
    late = domain.is_late(event.time, ticket.view_times)
    changes = domain.projected_changes(ticket, event.type, event.data, event.time)
    applied, ticket.view_times = domain.in_order(changes, event.time, ticket.view_times)
    for field, value in applied.items():
        setattr(ticket, field, value)
    if (resolved_at := applied.get("resolved_at")) is not None:
        session.info[RESOLVED_FLAG] = min(resolved_at, session.info.get(RESOLVED_FLAG, resolved_at))
    if domain.moves_clocks(event.data, late=late, sla=ticket.sla):
        contract = contracts.for_organization(ticket.organization)
        ticket.sla = domain.clocks_after(
            ticket.sla, event.data, event.time, contract=contract, submitted_at=ticket.created_at
        )
    ticket.updated_at = utcnow()
    if is_public(event.type, event.data):
        stage_insert(session, TimelineEntry.__table__, timeline_row(event))


# A requester-side fact and the ticket it was applied to.
Acted = tuple[IntakeTicket, Envelope]


async def reply_to_ticket(db: Database, *, ticket_id: str, principal: Principal, body: str) -> Acted:
    """Send the agents the requester's message; it answers a request for information and resumes the clock."""
    return await act(db, ticket_id, principal, lambda t: domain.reply(t, body))


async def reopen_ticket(
    db: Database, *, ticket_id: str, principal: Principal, reason: str, window: timedelta
) -> Acted:
    """Reopen a resolved ticket within `window` of its resolution: back to the tier that resolved it."""
    return await act(db, ticket_id, principal, lambda t: domain.reopen(t, reason, now=utcnow(), window=window))


async def rate_resolution(db: Database, *, ticket_id: str, principal: Principal, score: int, comment: str) -> Acted:
    """Record the requester's rating of the ticket's latest resolution; once per resolution."""
    return await act(db, ticket_id, principal, lambda t: domain.rate(t, score, comment))


async def resolve_by_self_service(db: Database, *, ticket_id: str, principal: Principal, article_id: str) -> Acted:
    """Resolve the ticket at level 0 with the knowledge-base article that helped its requester."""
    # Whatever tier holds the ticket, `ticket.resolved` at level 0 on `tickets.events` tells it
    # to drop the ticket from its queue, and tells triage to count the article's deflection.
    return await act(db, ticket_id, principal, lambda t: domain.self_resolve(t, article_id, by=principal.sub))


async def close_resolved_ticket(db: Database, *, ticket_id: str, now: datetime, grace: timedelta) -> bool:
    """Close a resolved ticket whose grace period has passed by `now`; False if it no longer is due."""
    async with locked(db, ticket_id) as (session, ticket):
        # Checked again under the lock: the requester may have reopened it meanwhile.
        if ticket is None or not domain.auto_close_due(ticket, now=now, grace=grace):
            return False
        stage(session, ticket, domain.auto_close(ticket))
    return True


async def tickets_due_to_close(db: Database, *, now: datetime, grace: timedelta, limit: int) -> list[str]:
    """Ids of the resolved tickets whose grace period has passed by `now`, the longest resolved first."""
    query = (
        select(IntakeTicket.id)
        .where(IntakeTicket.status == Status.RESOLVED, col(IntakeTicket.resolved_at) <= now - grace)
        .order_by(col(IntakeTicket.resolved_at))
        .limit(limit)
    )
    async with db.read() as session:
        return list((await session.exec(query)).all())


async def next_close_due(db: Database, *, grace: timedelta) -> datetime | None:
    """When the earliest resolved ticket falls due to close (None: none is resolved)."""
    query = select(func.min(IntakeTicket.resolved_at)).where(IntakeTicket.status == Status.RESOLVED)
    async with db.read() as session:
        resolved_at = (await session.exec(query)).one()
    return None if resolved_at is None else resolved_at + grace


async def act(db: Database, ticket_id: str, principal: Principal, decide: Callable[[IntakeTicket], Payload]) -> Acted:
    """Decide a requester action on the locked ticket, apply its fact to the view, stage it; one commit.

    Only the ticket's requester (or their organization's admin) may act; anyone else gets 404.
    """
    async with locked(db, ticket_id) as (session, ticket):
        ticket = visible(ticket, ticket_id, principal)
        event = stage(session, ticket, decide(ticket))
    return ticket, event


@asynccontextmanager
async def locked(db: Database, ticket_id: str) -> AsyncIterator[tuple[AsyncSession, IntakeTicket | None]]:
    """A unit of work holding the ticket (None if there is none) locked until its commit."""
    async with db.unit_of_work() as session:
        yield session, await locked_ticket(session, ticket_id)


async def locked_ticket(session: AsyncSession, ticket_id: str) -> IntakeTicket | None:
    """The ticket, locked until commit where the database can (SQLite's writer lock already serialises)."""
    query = select(IntakeTicket).where(IntakeTicket.id == ticket_id).with_for_update()
    return (await session.exec(query)).first()


def stage(session: AsyncSession, ticket: IntakeTicket, payload: Payload) -> Envelope:
    """Apply a fact intake causes to the view now and put it in the outbox, in the caller's transaction."""
    event = new_event(SOURCE, payload)
    changes = domain.action_changes(ticket, event.type, event.data, event.time)
    changes, ticket.view_times = domain.in_order(changes, event.time, ticket.view_times)
    for field, value in changes.items():
        setattr(ticket, field, value)
    ticket.updated_at = utcnow()
    add_to_outbox(session, TICKETS_EVENTS, event)
    return event
