"""Intake's tables: the submissions and the requester's view of each ticket.

At the top, not in a room, because both rooms write the same rows: a submission creates the
ticket's row and its first timeline entry, which the requester's view then carries forward
(requester/handlers.py). MODELS is what the migrations (migrations/env.py) and tests create.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, utcnow


class IntakeTicket(SQLModel, table=True):
    __tablename__ = "intake_tickets"
    __table_args__ = (UniqueConstraint("organization", "idempotency_key"),)

    id: str = Field(primary_key=True)
    title: str
    description: str
    requester_email: str = Field(index=True)
    requester_name: str
    language: str
    organization: str = Field(index=True)
    impact: str
    urgency: str
    category_hint: str | None = None
    callback_url: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None

    status: str = Field(default="new", index=True)
    tier: int | None = None
    level: int | None = None
    category: str | None = None
    priority: str | None = None
    specialty: str | None = None
    assignee: str | None = None
    # Mutable defaults as default=[] / {} (pydantic copies them for each row), never default_factory=list:
    # SQLModel's constructor inspects a factory's signature each time, 90 µs a field for list or dict.
    suggested_articles: list = Field(default=[], sa_column=Column(JSON, nullable=False))
    sla: dict = Field(default={}, sa_column=Column(JSON, nullable=False))  # shared.sla TicketClocks
    # Requester follow-up (services/intake/requester/domain.py): reopen window, auto-close, one rating per resolution.
    resolved_at: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)
    resolution_count: int = 0
    rated_resolution: int = 0
    tiers_visited: list = Field(default=[], sa_column=Column(JSON, nullable=False))
    # Field -> event time of the fact that set it: an older fact arriving late rolls nothing back.
    view_times: dict = Field(default={}, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TimelineEntry(SQLModel, table=True):
    """A requester-visible event of a ticket, in the order it was applied."""

    __tablename__ = "intake_timeline"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(index=True)
    event_id: str = Field(unique=True)
    type: str
    time: datetime = Field(sa_type=UTCDateTime)
    data: dict = Field(sa_column=Column(JSON, nullable=False))


# The integrations room's tables (its own models module), migrated with these.
from services.intake.integrations.models import MODELS as _INTEGRATIONS  # noqa: E402

MODELS = (IntakeTicket, TimelineEntry, *_INTEGRATIONS)
