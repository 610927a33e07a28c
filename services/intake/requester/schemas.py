"""The HTTP shapes of the requester's side: their view of a ticket, and the bodies of what they do with it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.messages.common import Note, Requester, Text


class TimelineItem(BaseModel):
    id: str
    type: str
    time: datetime
    data: dict


class TicketView(BaseModel):
    """The requester's view of one ticket."""

    id: str
    title: str
    description: str
    organization: str
    requester: Requester
    status: str
    tier: int | None
    level: int | None
    category: str | None
    priority: str | None
    specialty: str | None
    assignee: str | None
    suggested_articles: list[dict]
    sla: dict
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineItem]


class TicketSummary(BaseModel):
    id: str
    title: str
    status: str
    tier: int | None
    priority: str | None
    created_at: datetime
    updated_at: datetime


class TicketPage(BaseModel):
    items: list[TicketSummary]
    total: int
    limit: int
    offset: int


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


ArticleId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")]


class SelfResolve(BaseModel):
    """The article that solved the requester's problem."""

    model_config = ConfigDict(extra="forbid")

    article_id: ArticleId


class SelfResolved(BaseModel):
    id: str
    status: str
    level: int
    article_id: str
