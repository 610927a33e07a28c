"""The submission's HTTP route: thin, over its handler."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from shared.auth import Principal

from services.intake.permissions import PERMISSIONS, check_submitter, rate_limit
from services.intake.submission import handlers
from services.intake.submission.schemas import TicketAccepted, TicketCreate

router = APIRouter(tags=["tickets"])

# An empty key is no key: it was stored as one, and the next empty one broke the unique constraint (a 500).
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)]


Submitter = Annotated[Principal, PERMISSIONS.require("submit tickets")]


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
