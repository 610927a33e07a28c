"""The requester's HTTP routes: their view of a ticket and what they do with it; thin, over the handlers."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from shared.auth import Principal
from shared.db import MAX_OFFSET, Database, utcnow
from shared.lifecycle import Status
from shared.messages import Envelope
from shared.messages.common import Requester

from services.intake.models import IntakeTicket, TimelineEntry
from services.intake.permissions import PERMISSIONS, ActingRequester
from services.intake.requester import domain, handlers
from services.intake.requester.schemas import (
    ActionAccepted,
    RatingBody,
    ReopenBody,
    ReplyBody,
    SelfResolve,
    SelfResolved,
    TicketPage,
    TicketSummary,
    TicketView,
    TimelineItem,
)

# One router; each route keeps the tag it is documented under.
router = APIRouter()
TICKETS, ACTIONS = ["tickets"], ["requester actions"]

Reader = Annotated[Principal, PERMISSIONS.require("read tickets")]


@router.get("/tickets/{ticket_id}", response_model=TicketView, tags=TICKETS)
async def get_ticket(ticket_id: str, request: Request, principal: Reader):
    """The requester's view: status, tier, priority, clocks and the public timeline."""
    ticket, timeline = await handlers.get_ticket(_db(request), ticket_id=ticket_id, principal=principal)
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
        _db(request),
        principal=principal,
        status=status,
        requester=requester,
        organization=organization,
        limit=limit,
        offset=offset,
    )
    items = [TicketSummary.model_validate(r, from_attributes=True) for r in rows]
    return TicketPage(items=items, total=total, limit=limit, offset=offset)


@router.post("/tickets/{ticket_id}/replies", status_code=202, response_model=ActionAccepted, tags=ACTIONS)
async def post_reply(ticket_id: str, body: ReplyBody, request: Request, response: Response, principal: ActingRequester):
    """Send the agents a message; it answers a request for information and resumes the clock."""
    acted = await handlers.reply_to_ticket(_db(request), ticket_id=ticket_id, principal=principal, body=body.body)
    return _accepted(response, *acted)


@router.post("/tickets/{ticket_id}/reopen", status_code=202, response_model=ActionAccepted, tags=ACTIONS)
async def post_reopen(
    ticket_id: str, request: Request, response: Response, principal: ActingRequester, body: ReopenBody | None = None
):
    """Reopen a resolved ticket within the window after its resolution: back to the tier that resolved it."""
    window = timedelta(seconds=request.app.state.settings.reopen_window_s)
    acted = await handlers.reopen_ticket(
        _db(request), ticket_id=ticket_id, principal=principal, reason=body.reason if body else "", window=window
    )
    return _accepted(response, *acted)


@router.post("/tickets/{ticket_id}/rating", status_code=202, response_model=ActionAccepted, tags=ACTIONS)
async def post_rating(
    ticket_id: str, body: RatingBody, request: Request, response: Response, principal: ActingRequester
):
    """Rate the resolution (1 to 5, with a comment); once per resolution."""
    acted = await handlers.rate_resolution(
        _db(request), ticket_id=ticket_id, principal=principal, score=body.score, comment=body.comment
    )
    return _accepted(response, *acted)


@router.post("/tickets/{ticket_id}/self-resolve", response_model=SelfResolved, tags=TICKETS)
async def self_resolve(ticket_id: str, body: SelfResolve, request: Request, principal: ActingRequester) -> SelfResolved:
    """Resolve the ticket at level 0 with the article that helped; 409 if it is already resolved or closed."""
    ticket, _ = await handlers.resolve_by_self_service(
        _db(request), ticket_id=ticket_id, principal=principal, article_id=body.article_id
    )
    return SelfResolved(id=ticket.id, status=ticket.status, level=0, article_id=body.article_id)


def _view(ticket: IntakeTicket, timeline: list[TimelineEntry], *, sla: dict) -> TicketView:
    return TicketView(
        **ticket.model_dump(include=set(TicketView.model_fields) - {"requester", "sla", "timeline"}),
        requester=Requester(email=ticket.requester_email, name=ticket.requester_name, language=ticket.language),
        sla=sla,
        timeline=[TimelineItem(id=e.event_id, type=e.type, time=e.time, data=e.data) for e in timeline],
    )


def _accepted(response: Response, ticket: IntakeTicket, event: Envelope) -> ActionAccepted:
    location = f"/tickets/{ticket.id}"
    response.headers["Location"] = location
    return ActionAccepted(
        ticket_id=ticket.id, event_id=event.id, type=event.type, status=ticket.status, links={"ticket": location}
    )


def _db(request: Request) -> Database:
    return request.app.state.db
