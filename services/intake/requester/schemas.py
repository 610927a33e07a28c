"""The HTTP shapes of the requester's side: their view of a ticket, and the bodies of what they do with it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shared.messages.common import Requester


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
