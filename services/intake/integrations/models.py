"""The integrations room's tables: each integration (its key stored as a hash only) and its alerts.

An alert is one dedup_key of one integration and the ticket that holds it now; the unique
constraint is what makes two triggers of the same new key, at once, one ticket.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, utcnow


class Integration(SQLModel, table=True):
    __tablename__ = "intake_integrations"

    id: str = Field(primary_key=True)
    organization: str = Field(index=True)
    name: str
    kind: str  # events | alertmanager
    contact_email: str  # the requester of the tickets it opens
    contact_name: str
    language: str = "en"
    category_hint: str | None = None
    severity_map: dict = Field(default={}, sa_column=Column(JSON, nullable=False))  # severity -> {impact, urgency}
    alertmanager: dict = Field(default={}, sa_column=Column(JSON, nullable=False))  # schemas.AlertmanagerMapping
    key_hash: str = Field(unique=True)  # sha256 of the API key; the key itself is never stored
    key_hint: str  # the key's first characters, to tell keys apart in a list
    created_by: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Alert(SQLModel, table=True):
    """One dedup_key of one integration: the ticket that holds it and how often it was raised."""

    __tablename__ = "intake_alerts"
    __table_args__ = (UniqueConstraint("integration_id", "dedup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    integration_id: str
    dedup_key: str
    ticket_id: str = Field(index=True)
    occurrences: int = 1  # triggers since this ticket was opened for the key
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)


MODELS = (Integration, Alert)
