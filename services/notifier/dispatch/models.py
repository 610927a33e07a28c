"""The deliveries ledger: every notification to send, and how it went."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, utcnow


class Delivery(SQLModel, table=True):
    """One notification to send (a webhook call or an e-mail), and how it went.

    Deliveries of one lane (a target and a ticket) go out one at a time in id order;
    lanes go side by side, at most a few per endpoint at once.
    """

    __tablename__ = "notifier_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "target"),
        # The dispatcher reads every pending delivery's id (a rescan of what it holds).
        Index("ix_notifier_deliveries_status_lane", "status", "lane", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str
    ticket_id: str = Field(index=True)
    channel: str = Field(default="webhook")
    # "callback", "subscription:<id>", "email:requester" or "email:alert".
    target: str = Field(default="callback")
    lane: str = Field(default="")
    # Who the dispatcher shares out fairly: a webhook's host:port, or "smtp".
    endpoint: str = Field(default="")
    subscription_id: str | None = Field(default=None, index=True)
    url: str  # the webhook URL, or mailto:<address>
    body: dict = Field(sa_column=Column(JSON, nullable=False))
    # An e-mail's rendered subject, text and html; None for a webhook call.
    message: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status: str = Field(default="pending")
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = None
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
