"""The inbox: an event id recorded in the same transaction as its effect makes consumers idempotent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel
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


def _record_new(dialect: str):
    """INSERT … ON CONFLICT DO NOTHING RETURNING the keys inserted: which events are new, in one
    statement (a read and then an insert took two, in every batch of every consumer)."""
    table = InboxEntry.__table__
    insert_ = sqlite_insert(table) if dialect == "sqlite" else postgresql_insert(table)
    return insert_.on_conflict_do_nothing().returning(table.c.topic, table.c.event_id)


_RECORD_NEW = {dialect: _record_new(dialect) for dialect in ("sqlite", "postgresql")}  # built once


async def first_deliveries(session: AsyncSession, keys: list[tuple[str, str]]) -> list[bool]:
    """Record many (topic, event_id) in this transaction, in one statement.

    For each key in order: True if it is new (neither applied before nor earlier in `keys`).
    """
    unique = list(dict.fromkeys(keys))
    if not unique:
        return []
    now = utcnow()
    rows = [{"topic": topic, "event_id": event_id, "processed_at": now} for topic, event_id in unique]
    statement = _RECORD_NEW[session.bind.dialect.name]
    inserted = {(topic, event_id) for topic, event_id in (await execute(session, statement, rows)).all()}
    fresh = []
    for key in keys:
        fresh.append(key in inserted)
        inserted.discard(key)  # a repeat later in `keys` is not new
    return fresh
