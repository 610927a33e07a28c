"""The tickets a tier holds or held, with the snapshot it works from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, utcnow


class TierTicket(SQLModel, table=True):
    __tablename__ = "tier_tickets"

    id: str = Field(primary_key=True)
    status: str = Field(index=True)
    here: bool = Field(default=True, index=True)
    assignee: str | None = Field(default=None, index=True)
    priority: str = Field(index=True)
    category: str
    specialty: str | None = Field(default=None, index=True)
    organization: str = Field(index=True)
    snapshot: dict = Field(sa_column=Column(JSON, nullable=False))
    comments: list = Field(default=[], sa_column=Column(JSON, nullable=False))
    sla: dict = Field(default={}, sa_column=Column(JSON, nullable=False))
    # The ticket's durable timer: when its next SLA alarm is due (None: nothing can fire).
    next_alarm_at: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)
    sla_due_at: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)  # queue order
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
