"""Intake's use cases: each one unit of work, one commit."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal, Role
from shared.db import Database, stage_insert, utcnow
from shared.errors import Conflict, NotFound
from shared.messages import Envelope, is_public, new_event
from shared.messages.tickets import TicketSubmitted
from shared.messaging import preload
from shared.messaging.outbox import add_to_outbox
from shared.sla.contracts import Contracts
from shared.topics import TICKETS_EVENTS, TICKETS_SUBMITTED

from services.intake.models import IntakeTicket, TimelineEntry
from services.intake.requester import domain as requester_rules, projection as domain
from services.intake.submission.schemas import TicketCreate

SOURCE = "intake"

# The earliest resolution a transaction projected: after its commit the auto-close loop
# (services/intake/requester/auto_close.py) wakes if that makes a ticket due before its next sweep.
RESOLVED_FLAG = "intake_resolved_at"


def _fingerprint(body: TicketCreate) -> str:
    return hashlib.sha256(orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Accepted:
    """What the answer to a submission says of its ticket."""

    id: str
    status: str
    created_at: datetime


async def submit_ticket(db: Database, *, body: TicketCreate, idempotency_key: str | None) -> tuple[Accepted, bool]:
    """Store a submission, its `ticket.submitted` and its timeline entry in one transaction; (its ticket, created)."""
    try:
        return await _submit(db, body=body, idempotency_key=idempotency_key)
    except IntegrityError:
        if not idempotency_key:
            raise
        # The same key raced us in another transaction (PostgreSQL): its ticket is the answer.
        return await _submit(db, body=body, idempotency_key=idempotency_key)


# A new ticket's columns that the submission does not set: the model's defaults, computed once.
_NEW_TICKET = {
    name: field.get_default(call_default_factory=True)
    for name, field in IntakeTicket.model_fields.items()
    if not field.is_required()
}


async def _submit(db: Database, *, body: TicketCreate, idempotency_key: str | None) -> tuple[Accepted, bool]:
    fingerprint = _fingerprint(body)

    async def work(session: AsyncSession) -> tuple[Accepted, bool]:
        if idempotency_key:
            existing = await _by_idempotency_key(session, body.organization, idempotency_key)
            if existing is not None:
                if existing.request_hash != fingerprint:
                    raise Conflict("this Idempotency-Key was already used with a different request body")
                return Accepted(existing.id, existing.status, existing.created_at), False
        now = utcnow()
        ticket = {
            **_NEW_TICKET,
            "id": str(uuid.uuid4()),
            "title": body.title,
            "description": body.description,
            "requester_email": body.requester.email,
            "requester_name": body.requester.name,
            "language": body.requester.language,
            "organization": body.organization,
            "impact": body.impact,
            "urgency": body.urgency,
            "category_hint": body.category_hint,
            "callback_url": str(body.callback_url) if body.callback_url else None,
            "idempotency_key": idempotency_key,
            "request_hash": fingerprint,
            "created_at": now,
            "updated_at": now,
        }
        # A row, not an ORM object (whose construction was a tenth of intake's time): inserted
        # with the group's others at commit. A same key earlier in the group is not seen by the
        # query above: the commit then refuses the second, and the group writer runs each alone.
        stage_insert(session, IntakeTicket.__table__, ticket)
        event = new_event(
            SOURCE,
            TicketSubmitted(
                ticket_id=ticket["id"],
                title=body.title,
                description=body.description,
                requester=body.requester,
                organization=body.organization,
                impact=body.impact,
                urgency=body.urgency,
                category_hint=body.category_hint,
                callback_url=ticket["callback_url"],
                submitted_at=now,
            ),
        )
        # One fact on two streams: the hand-off to triage and the audit trail; and on the
        # requester's timeline now, in the same transaction (intake does not read it back).
        add_to_outbox(session, TICKETS_SUBMITTED, event)
        add_to_outbox(session, TICKETS_EVENTS, event)
        stage_insert(session, TimelineEntry.__table__, _timeline_row(event))
        return Accepted(ticket["id"], ticket["status"], now), True

    # Group commit: under load, one transaction for many submissions (see Database.batched).
    return await db.batched(work)


async def _by_idempotency_key(session: AsyncSession, organization: str, key: str) -> IntakeTicket | None:
    query = select(IntakeTicket).where(
        IntakeTicket.organization == organization, IntakeTicket.idempotency_key == key
    )
    return (await session.exec(query)).first()


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
        return [IntakeTicket.organization == principal.org, func.lower(IntakeTicket.requester_email) == principal.sub.lower()]
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
    changes = {
        **domain.view_changes(event.type, event.data, ticket.status, ticket.assignee),
        **requester_rules.follow_up_changes(ticket, event.data, event.time),
    }
    applied, ticket.view_times = domain.in_order(changes, event.time, ticket.view_times)
    for field, value in applied.items():
        setattr(ticket, field, value)
    if (resolved_at := applied.get("resolved_at")) is not None:
        session.info[RESOLVED_FLAG] = min(resolved_at, session.info.get(RESOLVED_FLAG, resolved_at))
    if domain.moves_clocks(event.data, late=late, sla=ticket.sla):
        contract = contracts.for_organization(ticket.organization)
        ticket.sla = domain.clocks_after(ticket.sla, event.data, event.time, contract=contract, submitted_at=ticket.created_at)
    ticket.updated_at = utcnow()
    if is_public(event.type, event.data):
        stage_insert(session, TimelineEntry.__table__, _timeline_row(event))


def _timeline_row(event: Envelope) -> dict:
    # A row, not an ORM object: inserted in bulk at commit (the timeline is only read elsewhere).
    return {
        "ticket_id": event.subject,
        "event_id": event.id,
        "type": event.type,
        "time": event.time,
        "data": domain.timeline_data(event.data),
    }
