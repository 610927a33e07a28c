"""Notifier's tables: the tickets it knows, their public events, and the webhook deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, utcnow


class NotifierTicket(SQLModel, table=True):
    """Who to tell about a ticket, from its `ticket.submitted`."""

    __tablename__ = "notifier_tickets"

    id: str = Field(primary_key=True)
    organization: str = Field(index=True)
    callback_url: str | None = None
    language: str
    requester_email: str


class StreamEvent(SQLModel, table=True):
    """A requester-visible event; `seq` is its position in the live stream (the SSE id)."""

    __tablename__ = "notifier_stream_events"

    seq: int | None = Field(default=None, primary_key=True, sa_column_kwargs={"autoincrement": True})
    event_id: str = Field(unique=True)
    ticket_id: str = Field(index=True)
    # None when the ticket's submission was never seen here (consumer group started mid-stream).
    organization: str | None = Field(default=None, index=True)
    type: str
    time: datetime = Field(sa_type=UTCDateTime)
    data: dict = Field(sa_column=Column(JSON, nullable=False))


class Delivery(SQLModel, table=True):
    """One webhook call to make, and how it went."""

    __tablename__ = "notifier_deliveries"
    # The dispatcher looks up each ticket's oldest pending delivery.
    __table_args__ = (
        UniqueConstraint("event_id", "url"),
        Index("ix_notifier_deliveries_status_ticket", "status", "ticket_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str
    ticket_id: str = Field(index=True)
    url: str
    body: dict = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending")
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = None
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


MODELS = (NotifierTicket, StreamEvent, Delivery)
