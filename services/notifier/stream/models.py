"""The stream's table: every requester-visible event, numbered in the order it was recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime


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
