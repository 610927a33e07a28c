"""Intake's HTTP shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from shared.messages.common import Category, Description, Level, Organization, Requester, Title


class TicketCreate(BaseModel):
    """A new incident from a requester (portal, chat bot, monitoring system)."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description
    requester: Requester
    organization: Organization
    impact: Level
    urgency: Level
    category_hint: Category | None = None
    callback_url: AnyHttpUrl | None = Field(default=None, max_length=2000)


class TicketAccepted(BaseModel):
    id: str
    status: str
    submitted_at: datetime
    links: dict[str, str]


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
