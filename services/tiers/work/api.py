"""A tier's HTTP API for its agents: thin routes over the tier engine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from shared.auth import Principal
from shared.db import MAX_OFFSET
from shared.lifecycle import Status
from shared.messages.common import Specialty
from shared.messaging.replay import replay
from shared.reports import KpiBuilder
from shared.topics import TICKETS_EVENTS

from services.tiers.permissions import PERMISSIONS, check_member
from services.tiers.tier import Tier
from services.tiers.work import handlers
from services.tiers.work.models import TierTicket
from services.tiers.work.schemas import (
    AgentTicket,
    AssignBody,
    CommentBody,
    EscalateBody,
    QueuePage,
    RequestInfoBody,
    ResolveBody,
)

router = APIRouter(tags=["agents"])


def _tier(request: Request) -> Tier:
    return request.app.state.tier


def _view(row: TierTicket, tier: Tier) -> AgentTicket:
    return AgentTicket(tier=tier.number, **row.model_dump(exclude={"sla"}), sla=handlers.sla_view(tier, row))


def _member(request: Request, principal: Principal) -> Tier:
    tier = _tier(request)
    check_member(principal, tier.number)
    return tier


Reader = Annotated[Principal, PERMISSIONS.require("read tickets")]
Worker = Annotated[Principal, PERMISSIONS.require("work tickets")]


@router.get("/queue", response_model=QueuePage)
async def get_queue(
    request: Request,
    principal: Annotated[Principal, PERMISSIONS.require("read the queue")],
    status: Status | None = None,
    specialty: Specialty | None = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
):
    """The tickets this tier holds for the organizations you serve, the earliest SLA due time first."""
    tier = _member(request, principal)
    rows, total = await handlers.queue(
        tier, principal, status=status, specialty=specialty, assignee=assignee, limit=limit, offset=offset
    )
    return QueuePage(items=[_view(r, tier) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/contracts")
async def list_contracts(
    request: Request, _: Annotated[Principal, PERMISSIONS.require("read contracts")]
) -> list[dict]:
    """The SLA contracts in force: coverage, targets per priority, tier budgets."""
    return [c.model_dump(mode="json") for c in _tier(request).contracts.all()]


@router.get("/reports")
async def reports(
    request: Request,
    principal: Annotated[Principal, PERMISSIONS.require("read reports")],
    organization: Annotated[list[str] | None, Query()] = None,
) -> dict:
    """Support KPIs over every tier, replayed from `tickets.events` (as `escalier stats`), for the organizations you see."""
    wanted = set(organization or ())
    builder = KpiBuilder(include=lambda org: principal.sees_organization(org) and (not wanted or org in wanted))
    replayed = await replay(request.app.state.settings.kafka_bootstrap_servers, TICKETS_EVENTS, builder.add)
    return {"events_replayed": replayed, **builder.report()}


@router.get("/tickets/{ticket_id}", response_model=AgentTicket)
async def get_ticket(ticket_id: str, request: Request, principal: Reader):
    """One ticket as agents see it, internal comments included."""
    tier = _member(request, principal)
    return _view(await handlers.get_ticket(tier, ticket_id, principal), tier)


@router.post("/tickets/{ticket_id}/claim", response_model=AgentTicket)
async def claim(ticket_id: str, request: Request, principal: Worker):
    """Take a queued ticket."""
    tier = _member(request, principal)
    return _view(await handlers.claim_ticket(tier, ticket_id, principal), tier)


@router.post("/tickets/{ticket_id}/assign", response_model=AgentTicket)
async def assign(
    ticket_id: str, body: AssignBody, request: Request,
    principal: Annotated[Principal, PERMISSIONS.require("reassign tickets")],
):
    """A lead hands the ticket to an agent of this tier."""
    tier = _member(request, principal)
    return _view(await handlers.assign_ticket(tier, ticket_id, principal, assignee=body.assignee), tier)


@router.post("/tickets/{ticket_id}/comments", response_model=AgentTicket)
async def comment(ticket_id: str, body: CommentBody, request: Request, principal: Worker):
    """Add a public or internal comment."""
    tier = _member(request, principal)
    row = await handlers.comment_on_ticket(tier, ticket_id, principal, body=body.body, internal=body.internal)
    return _view(row, tier)


@router.post("/tickets/{ticket_id}/request-info", response_model=AgentTicket)
async def request_info(ticket_id: str, body: RequestInfoBody, request: Request, principal: Worker):
    """Ask the requester a question; the ticket waits on them."""
    tier = _member(request, principal)
    return _view(await handlers.request_info(tier, ticket_id, principal, question=body.question), tier)


@router.post("/tickets/{ticket_id}/resolve", response_model=AgentTicket)
async def resolve(ticket_id: str, body: ResolveBody, request: Request, principal: Worker):
    """Resolve a claimed ticket at this tier's level."""
    tier = _member(request, principal)
    row = await handlers.resolve_ticket(
        tier, ticket_id, principal, resolution=body.resolution, article_id=body.article_id
    )
    return _view(row, tier)


@router.post("/tickets/{ticket_id}/escalate", response_model=AgentTicket)
async def escalate(ticket_id: str, body: EscalateBody, request: Request, principal: Worker):
    """Hand the ticket to the next tier (refused at tier 3)."""
    tier = _member(request, principal)
    row = await handlers.escalate_ticket(tier, ticket_id, principal, reason=body.reason, specialty=body.specialty)
    return _view(row, tier)
