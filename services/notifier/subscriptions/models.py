"""The subscriptions table: each organization's webhook URLs, the types they want and their signing secrets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, utcnow


class Subscription(SQLModel, table=True):
    """An organization's standing request for webhook calls about its tickets."""

    __tablename__ = "notifier_subscriptions"

    id: str = Field(primary_key=True)
    organization: str = Field(index=True)
    url: str
    # Event types wanted; empty: every requester-visible type.
    events: list = Field(default=[], sa_column=Column(JSON, nullable=False))
    secret: str
    description: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
