"""What a requester does after submitting: reply, reopen, rate. Routes and their use cases.

Each action checks intake's view of the ticket (services/intake/requester/domain.py), then in
one transaction applies the fact to the view at once (so a second reopen or rating sees the
first) and stages it on `tickets.events` through the outbox. When the fact comes back from
the broker, the projection applies it again, which changes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal
from shared.db import MAX_OFFSET, Database, utcnow
from shared.lifecycle import Status
from shared.messages import Envelope, new_event
from shared.messages.common import Note, Payload, Requester as RequesterContact, Text
from shared.messaging.outbox import add_to_outbox
from shared.topics import TICKETS_EVENTS

from services.intake.models import IntakeTicket, TimelineEntry
from services.intake.permissions import PERMISSIONS, ActingRequester as Requester
from services.intake.requester import domain as requester_rules, handlers, projection as domain
from services.intake.requester.handlers import visible
from services.intake.requester.schemas import TicketPage, TicketSummary, TicketView, TimelineItem

SOURCE = "intake"

# One router, each route keeping the tag it is documented under.
router = APIRouter()
TICKETS, ACTIONS = ["tickets"], ["requester actions"]

Reader = Annotated[Principal, PERMISSIONS.require("read tickets")]


@router.get("/tickets/{ticket_id}", response_model=TicketView, tags=TICKETS)
async def get_ticket(ticket_id: str, request: Request, principal: Reader):
    """The requester's view: status, tier, priority, clocks and the public timeline."""
    ticket, timeline = await handlers.get_ticket(request.app.state.db, ticket_id=ticket_id, principal=principal)
    contract = request.app.state.contracts.for_organization(ticket.organization)
    return _view(ticket, timeline, sla=domain.sla_view(ticket.sla, utcnow(), contract))


@router.get("/tickets", response_model=TicketPage, tags=TICKETS)
async def list_tickets(
    request: Request,
    principal: Reader,
    status: Status | None = None,
    requester: Annotated[str | None, Query(max_length=254)] = None,
    organization: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """The caller's tickets (a requester's own, an admin's organization's...), newest first, paginated."""
    rows, total = await handlers.list_tickets(
        request.app.state.db,
        principal=principal,
        status=status,
        requester=requester,
        organization=organization,
        limit=limit,
        offset=offset,
    )
    return TicketPage(
        items=[TicketSummary.model_validate(r, from_attributes=True) for r in rows], total=total, limit=limit, offset=offset
    )


def _view(ticket: IntakeTicket, timeline: list[TimelineEntry], *, sla: dict) -> TicketView:
    return TicketView(
        **ticket.model_dump(include=set(TicketView.model_fields) - {"requester", "sla", "timeline"}),
        requester=RequesterContact(email=ticket.requester_email, name=ticket.requester_name, language=ticket.language),
        sla=sla,
        timeline=[TimelineItem(id=e.event_id, type=e.type, time=e.time, data=e.data) for e in timeline],
    )


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReplyBody(_Body):
    body: Text


class ReopenBody(_Body):
    reason: Note = ""


class RatingBody(_Body):
    score: int = Field(ge=1, le=5)
    comment: Note = ""


class ActionAccepted(BaseModel):
    """The fact the action caused, stored and on its way to the agents."""

    ticket_id: str
    event_id: str
    type: str
    status: str
    links: dict[str, str]


@router.post("/tickets/{ticket_id}/replies", status_code=202, response_model=ActionAccepted, tags=ACTIONS)
async def post_reply(ticket_id: str, body: ReplyBody, request: Request, response: Response, principal: Requester):
    """Send the agents a message; it answers a request for information and resumes the clock."""
    result = await act(_db(request), ticket_id, principal, lambda t: requester_rules.reply(t, body.body))
    return _accepted(response, *result)


@router.post("/tickets/{ticket_id}/reopen", status_code=202, response_model=ActionAccepted, tags=ACTIONS)
async def post_reopen(
    ticket_id: str, request: Request, response: Response, principal: Requester, body: ReopenBody | None = None
):
    """Reopen a resolved ticket within the window after its resolution: back to the tier that resolved it."""
    window = timedelta(seconds=request.app.state.settings.reopen_window_s)
    reason = body.reason if body else ""
    result = await act(
        _db(request), ticket_id, principal, lambda t: requester_rules.reopen(t, reason, now=utcnow(), window=window)
    )
    return _accepted(response, *result)


@router.post("/tickets/{ticket_id}/rating", status_code=202, response_model=ActionAccepted, tags=ACTIONS)
async def post_rating(ticket_id: str, body: RatingBody, request: Request, response: Response, principal: Requester):
    """Rate the resolution (1 to 5, with a comment); once per resolution."""
    result = await act(_db(request), ticket_id, principal, lambda t: requester_rules.rate(t, body.score, body.comment))
    return _accepted(response, *result)


async def act(
    db: Database, ticket_id: str, principal: Principal, decide: Callable[[IntakeTicket], Payload]
) -> tuple[IntakeTicket, Envelope]:
    """Decide a requester action on the locked ticket, apply its fact to the view, stage it; one commit.

    Only the ticket's requester (or their organization's admin) may act; anyone else gets 404.
    """
    async with db.unit_of_work() as session:
        ticket = visible(await locked_ticket(session, ticket_id), ticket_id, principal)
        event = stage(session, ticket, decide(ticket))
    return ticket, event


async def locked_ticket(session: AsyncSession, ticket_id: str) -> IntakeTicket | None:
    """The ticket, locked until commit where the database can (SQLite's writer lock already serialises)."""
    query = select(IntakeTicket).where(IntakeTicket.id == ticket_id).with_for_update()
    return (await session.exec(query)).first()


def stage(session: AsyncSession, ticket: IntakeTicket, payload: Payload) -> Envelope:
    """Apply a requester-side fact to the view now and put it in the outbox, in the caller's transaction."""
    event = new_event(SOURCE, payload)
    changes, ticket.view_times = domain.in_order(_changes(ticket, event), event.time, ticket.view_times)
    for field, value in changes.items():
        setattr(ticket, field, value)
    ticket.updated_at = utcnow()
    add_to_outbox(session, TICKETS_EVENTS, event)
    return event


def _changes(ticket: IntakeTicket, event: Envelope) -> dict[str, Any]:
    changes = {
        **domain.view_changes(event.type, event.data, ticket.status, ticket.assignee),
        **requester_rules.follow_up_changes(ticket, event.data, event.time),
    }
    if event.type == "ticket.rated":
        changes["rated_resolution"] = requester_rules.current_resolution(ticket)
    return changes


def _accepted(response: Response, ticket: IntakeTicket, event: Envelope) -> ActionAccepted:
    location = f"/tickets/{ticket.id}"
    response.headers["Location"] = location
    return ActionAccepted(
        ticket_id=ticket.id, event_id=event.id, type=event.type, status=ticket.status, links={"ticket": location}
    )


def _db(request: Request) -> Database:
    return request.app.state.db
