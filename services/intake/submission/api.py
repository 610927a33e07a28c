"""Intake's HTTP API: thin routes over the handlers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from shared.auth import Principal
from shared.db import MAX_OFFSET, utcnow
from shared.lifecycle import Status
from shared.messages.common import Requester

from services.intake.models import IntakeTicket, TimelineEntry
from services.intake.permissions import PERMISSIONS, check_submitter, rate_limit
from services.intake.requester import projection as domain
from services.intake.submission import handlers
from services.intake.submission.schemas import (
    TicketAccepted,
    TicketCreate,
    TicketPage,
    TicketSummary,
    TicketView,
    TimelineItem,
)

router = APIRouter(tags=["tickets"])

# An empty key is no key: it was stored as one, and the next empty one broke the unique constraint (a 500).
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


Submitter = Annotated[Principal, PERMISSIONS.require("submit tickets")]
Reader = Annotated[Principal, PERMISSIONS.require("read tickets")]


@router.post("/tickets", status_code=202, response_model=TicketAccepted)
async def submit_ticket(
    body: TicketCreate, request: Request, response: Response, principal: Submitter, key: IdempotencyKey = None
):
    """Accept a ticket: stored with its event before the 202, published when the broker takes it."""
    check_submitter(principal, organization=body.organization, requester_email=body.requester.email)
    rate_limit(request, principal)
    ticket, _created = await handlers.submit_ticket(request.app.state.db, body=body, idempotency_key=key)
    location = f"/tickets/{ticket.id}"
    response.headers["Location"] = location
    return TicketAccepted(id=ticket.id, status=ticket.status, submitted_at=ticket.created_at, links={"self": location})


@router.get("/tickets/{ticket_id}", response_model=TicketView)
async def get_ticket(ticket_id: str, request: Request, principal: Reader):
    """The requester's view: status, tier, priority, clocks and the public timeline."""
    ticket, timeline = await handlers.get_ticket(request.app.state.db, ticket_id=ticket_id, principal=principal)
    contract = request.app.state.contracts.for_organization(ticket.organization)
    return _view(ticket, timeline, sla=domain.sla_view(ticket.sla, utcnow(), contract))


@router.get("/tickets", response_model=TicketPage)
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
        requester=Requester(email=ticket.requester_email, name=ticket.requester_name, language=ticket.language),
        sla=sla,
        timeline=[TimelineItem(id=e.event_id, type=e.type, time=e.time, data=e.data) for e in timeline],
    )
