"""Level 0 at intake: the requester resolves their own ticket with a knowledge-base article.

Whatever tier holds the ticket, `ticket.resolved` at level 0 on `tickets.events` tells it
to drop the ticket from its queue, and tells triage to count the article's deflection.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.auth import Principal
from shared.db import Database, utcnow
from shared.lifecycle import Action, Status, next_status
from shared.messages import new_event
from shared.messages.tickets import TicketResolved
from shared.messaging.outbox import add_to_outbox
from shared.topics import TICKETS_EVENTS

from services.intake.models import IntakeTicket
from services.intake.permissions import ActingRequester as Requester
from services.intake.requester import domain
from services.intake.requester.handlers import visible

SOURCE = "intake"

ArticleId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")]

router = APIRouter(tags=["tickets"])


class SelfResolve(BaseModel):
    """The article that solved the requester's problem."""

    model_config = ConfigDict(extra="forbid")

    article_id: ArticleId


class SelfResolved(BaseModel):
    id: str
    status: str
    level: int
    article_id: str


@router.post("/tickets/{ticket_id}/self-resolve", response_model=SelfResolved)
async def self_resolve(ticket_id: str, body: SelfResolve, request: Request, principal: Requester) -> SelfResolved:
    """Resolve the ticket at level 0 with the article that helped; 409 if it is already resolved or closed."""
    ticket = await resolve_with_article(
        request.app.state.db, ticket_id=ticket_id, article_id=body.article_id, principal=principal
    )
    return SelfResolved(id=ticket.id, status=ticket.status, level=0, article_id=body.article_id)


async def resolve_with_article(db: Database, *, ticket_id: str, article_id: str, principal: Principal) -> IntakeTicket:
    """Mark the ticket resolved at level 0 and stage `ticket.resolved` in the same transaction."""
    async with db.unit_of_work() as session:
        ticket = visible(await session.get(IntakeTicket, ticket_id), ticket_id, principal)
        # The view changes now, not when the event comes back: a second request sees it resolved.
        ticket.status = next_status(Status(ticket.status), Action.SELF_RESOLVE)
        ticket.level, ticket.updated_at = 0, utcnow()
        resolved = TicketResolved(
            ticket_id=ticket_id,
            level=0,
            resolution=f"Resolved by the requester with knowledge-base article {article_id}.",
            article_id=article_id,
            by=principal.sub,
        )
        event = new_event(SOURCE, resolved)
        # A fact stamped earlier that arrives later must not reopen it.
        _, ticket.view_times = domain.in_order({"status": ticket.status, "level": 0}, event.time, ticket.view_times)
        add_to_outbox(session, TICKETS_EVENTS, event)
    return ticket
