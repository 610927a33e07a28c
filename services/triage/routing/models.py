"""Routing's table: the decision taken for each ticket."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, utcnow


class TriageDecision(SQLModel, table=True):
    __tablename__ = "triage_decisions"

    ticket_id: str = Field(primary_key=True)
    category: str = Field(index=True)
    tier: int
    specialty: str | None = None
    priority: str
    explanation: str
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

