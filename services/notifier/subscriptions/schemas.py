"""The subscriptions' HTTP shapes: what a client sends to subscribe, and what it reads back."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from shared.messages.common import Organization


class SubscriptionCreate(BaseModel):
    """Webhook calls for an organization's tickets."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(max_length=2000)
    organization: Organization
    events: list[str] = Field(default=[], max_length=50, description="event types; empty: every requester-visible type")
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="signing secret; one is made and returned if omitted"
    )
    description: str | None = Field(default=None, max_length=500)


class SubscriptionView(BaseModel):
    """A subscription as listed: its secret is never shown again."""

    id: str
    url: str
    organization: str
    events: list[str]
    description: str | None
    created_at: datetime


class SubscriptionCreated(SubscriptionView):
    """The subscription just created, with the secret that signs its calls (shown this once)."""

    secret: str
