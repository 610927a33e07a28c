"""The HTTP shapes of a submission: the ticket a requester sends and the answer they get."""

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
