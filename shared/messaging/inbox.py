"""The inbox: an event id recorded in the same transaction as its effect makes consumers idempotent."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import UTCDateTime, utcnow


class InboxEntry(SQLModel, table=True):
    __tablename__ = "inbox"

    topic: str = Field(primary_key=True)
    event_id: str = Field(primary_key=True)
    processed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


async def first_delivery(session: AsyncSession, topic: str, event_id: str) -> bool:
    """Record (topic, event_id) in this transaction; False if it was applied before."""
    if await session.get(InboxEntry, (topic, event_id)) is not None:
        return False
    session.add(InboxEntry(topic=topic, event_id=event_id))
    await session.flush()
    return True
