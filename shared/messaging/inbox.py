"""The inbox: an event id recorded in the same transaction as its effect makes consumers idempotent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import UTCDateTime, execute, utcnow


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


# Built once: a statement's construction showed in profiles, once per batch.
_SEEN = select(InboxEntry.event_id).where(
    InboxEntry.topic == bindparam("topic"), col(InboxEntry.event_id).in_(bindparam("event_ids", expanding=True))
)


async def first_deliveries(session: AsyncSession, keys: list[tuple[str, str]]) -> list[bool]:
    """Record many (topic, event_id) in this transaction with one query and one insert.

    For each key in order: True if it is new (neither applied before nor earlier in `keys`).
    """
    seen: set[tuple[str, str]] = set()
    by_topic: dict[str, list[str]] = {}
    for topic, event_id in keys:
        by_topic.setdefault(topic, []).append(event_id)
    for topic, event_ids in by_topic.items():
        for start in range(0, len(event_ids), 500):
            found = await execute(session, _SEEN, {"topic": topic, "event_ids": event_ids[start : start + 500]})
            seen.update((topic, event_id) for event_id in found.scalars())
    fresh, rows, now = [], [], utcnow()
    for key in keys:
        is_new = key not in seen
        fresh.append(is_new)
        if is_new:
            seen.add(key)
            rows.append({"topic": key[0], "event_id": key[1], "processed_at": now})
    if rows:
        await execute(session, insert(InboxEntry.__table__), rows)
    return fresh
