"""What the agents' routes read and answer: the bodies of their actions, the ticket as they see it, a queue page."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.messages.common import Agent, Specialty, Text


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignBody(_Body):
    assignee: Agent


class CommentBody(_Body):
    body: Text
    internal: bool = False


class RequestInfoBody(_Body):
    question: Text


class ResolveBody(_Body):
    resolution: Text
    article_id: str | None = None


class EscalateBody(_Body):
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
