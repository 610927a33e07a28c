"""The requester's use cases: their view of a ticket, projected from `tickets.events`; each one unit of work."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal, Role
from shared.db import Database, stage_insert, utcnow
from shared.errors import NotFound
from shared.messages import Envelope, is_public
from shared.messaging import preload
from shared.sla.contracts import Contracts

from services.intake.models import IntakeTicket, TimelineEntry
from services.intake.requester import domain as requester_rules, projection as domain
from services.intake.timeline import timeline_row

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
        stage_insert(session, TimelineEntry.__table__, timeline_row(event))
