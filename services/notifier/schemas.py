"""Notifier's HTTP shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from shared.messages.common import Organization

from services.notifier.domain import Channel, DeliveryStatus


class DeliveryView(BaseModel):
    """One notification to send (a webhook call or an e-mail) and how it went."""

    id: int
    event_id: str
    ticket_id: str
    channel: Channel
    target: str
    subscription_id: str | None
    url: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    body: dict


class DeliveryPage(BaseModel):
    items: list[DeliveryView]
    total: int
    limit: int
    offset: int


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
