"""A tier's HTTP API for its agents: thin routes over the tier engine."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from shared.lifecycle import Status
from shared.messages.common import Specialty

from services.tiers import handlers
from services.tiers.handlers import Tier
from services.tiers.models import TierTicket

router = APIRouter(tags=["agents"])

Agent = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClaimBody(_Body):
    agent: Agent


class CommentBody(_Body):
    agent: Agent
    body: Text
    internal: bool = False


class RequestInfoBody(_Body):
    agent: Agent
    question: Text


class ResolveBody(_Body):
    agent: Agent
    resolution: Text
    article_id: str | None = None


class EscalateBody(_Body):
    agent: Agent
    reason: Text
    specialty: Specialty | None = None


class AgentTicket(BaseModel):
    """The agent's view: everything, internal comments included."""

    id: str
    tier: int
    here: bool
    status: str
    assignee: str | None
    priority: str
    category: str
    specialty: str | None
    organization: str
    snapshot: dict
    comments: list[dict]
    sla: dict
    queued_at: datetime
    updated_at: datetime


class QueuePage(BaseModel):
    items: list[AgentTicket]
    total: int
    limit: int
    offset: int


def _tier(request: Request) -> Tier:
    return request.app.state.tier


def _view(row: TierTicket, tier: Tier) -> AgentTicket:
    return AgentTicket(tier=tier.number, **row.model_dump(exclude={"sla"}), sla=handlers.sla_view(tier, row))


@router.get("/queue", response_model=QueuePage)
async def get_queue(
    request: Request,
    status: Status | None = None,
    specialty: Specialty | None = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
):
    """The tickets this tier holds, most urgent first."""
    tier = _tier(request)
    rows, total = await handlers.queue(
        tier, status=status, specialty=specialty, assignee=assignee, limit=limit, offset=offset
    )
    return QueuePage(items=[_view(r, tier) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/contracts")
async def list_contracts(request: Request) -> list[dict]:
    """The SLA contracts in force: coverage, targets per priority, tier budgets."""
    return [c.model_dump(mode="json") for c in _tier(request).contracts.all()]


@router.get("/tickets/{ticket_id}", response_model=AgentTicket)
async def get_ticket(ticket_id: str, request: Request):
    """One ticket as agents see it, internal comments included."""
    tier = _tier(request)
    return _view(await handlers.get_ticket(tier, ticket_id), tier)


@router.post("/tickets/{ticket_id}/claim", response_model=AgentTicket)
async def claim(ticket_id: str, body: ClaimBody, request: Request):
    """Take a queued ticket."""
    tier = _tier(request)
    return _view(await handlers.act(tier, ticket_id, lambda t: t.claim(body.agent)), tier)


@router.post("/tickets/{ticket_id}/comments", response_model=AgentTicket)
async def comment(ticket_id: str, body: CommentBody, request: Request):
    """Add a public or internal comment."""
    tier = _tier(request)
    verb = lambda t: t.comment(body.agent, body.body, body.internal)  # noqa: E731
    return _view(await handlers.act(tier, ticket_id, verb), tier)


@router.post("/tickets/{ticket_id}/request-info", response_model=AgentTicket)
async def request_info(ticket_id: str, body: RequestInfoBody, request: Request):
    """Ask the requester a question; the ticket waits on them."""
    tier = _tier(request)
    return _view(await handlers.act(tier, ticket_id, lambda t: t.request_info(body.agent, body.question)), tier)


@router.post("/tickets/{ticket_id}/resolve", response_model=AgentTicket)
async def resolve(ticket_id: str, body: ResolveBody, request: Request):
    """Resolve a claimed ticket at this tier's level."""
    tier = _tier(request)
    verb = lambda t: t.resolve(body.agent, body.resolution, body.article_id)  # noqa: E731
    return _view(await handlers.act(tier, ticket_id, verb), tier)


@router.post("/tickets/{ticket_id}/escalate", response_model=AgentTicket)
async def escalate(ticket_id: str, body: EscalateBody, request: Request):
    """Hand the ticket to the next tier (refused at tier 3)."""
    tier = _tier(request)
    verb = lambda t: t.escalate(body.reason, by=body.agent, specialty=body.specialty)  # noqa: E731
    return _view(await handlers.act(tier, ticket_id, verb), tier)
