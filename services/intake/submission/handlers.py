"""The submission's use case: a ticket, its event and its timeline entry in one unit of work, one commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, stage_insert, utcnow
from shared.messages import new_event
from shared.messaging.outbox import add_to_outbox
from shared.topics import TICKETS_EVENTS, TICKETS_SUBMITTED

from services.intake.models import IntakeTicket, TimelineEntry
from services.intake.submission import domain
from services.intake.submission.schemas import TicketCreate
from services.intake.timeline import timeline_row

SOURCE = "intake"


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
    fingerprint = domain.fingerprint(body)

    async def work(session: AsyncSession) -> tuple[Accepted, bool]:
        if idempotency_key:
            existing = await _by_idempotency_key(session, body.organization, idempotency_key)
            if existing is not None:
                domain.check_same_request(existing.request_hash, fingerprint)
                return Accepted(existing.id, existing.status, existing.created_at), False
        return stage_submission(session, body, idempotency_key=idempotency_key, fingerprint=fingerprint), True

    # Group commit: under load, one transaction for many submissions (see Database.batched).
    return await db.batched(work)


def stage_submission(
    session: AsyncSession,
    body: TicketCreate,
    *,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    integration_id: str | None = None,
) -> Accepted:
    """Stage a new ticket, its `ticket.submitted` (for triage and the audit trail) and its timeline entry."""
    fact = domain.submitted(body, ticket_id=str(uuid.uuid4()), now=utcnow(), integration_id=integration_id)
    fingerprint = fingerprint or domain.fingerprint(body)
    ticket = {**_NEW_TICKET, **domain.new_ticket(fact, idempotency_key=idempotency_key, fingerprint=fingerprint)}
    # A row, not an ORM object (whose construction was a tenth of intake's time): inserted
    # with the group's others at commit. A same key earlier in the group is not seen by the
    # query above: the commit then refuses the second, and the group writer runs each alone.
    stage_insert(session, IntakeTicket.__table__, ticket)
    event = new_event(SOURCE, fact)
    # One fact on two streams: the hand-off to triage and the audit trail; and on the
    # requester's timeline now, in the same transaction (intake does not read it back).
    add_to_outbox(session, TICKETS_SUBMITTED, event)
    add_to_outbox(session, TICKETS_EVENTS, event)
    stage_insert(session, TimelineEntry.__table__, timeline_row(event))
    return Accepted(ticket["id"], ticket["status"], ticket["created_at"])


async def _by_idempotency_key(session: AsyncSession, organization: str, key: str) -> IntakeTicket | None:
    query = select(IntakeTicket).where(
        IntakeTicket.organization == organization, IntakeTicket.idempotency_key == key
    )
    return (await session.exec(query)).first()
