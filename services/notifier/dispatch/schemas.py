"""The deliveries ledger's HTTP shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

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
