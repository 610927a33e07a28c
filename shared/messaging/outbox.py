"""The transactional outbox: events are rows written in the same transaction as the state change.

The relay publishes unpublished rows in order, marks them published, and keeps
them for a retention period so that an empty broker can be refilled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime, timedelta

from sqlalchemy import JSON, Column, LargeBinary, delete, func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, UTCDateTime, utcnow
from shared.messages.envelope import Envelope, encode
from shared.messaging import metrics
from shared.topics import TICKETS_EVENTS

log = logging.getLogger(__name__)

_PENDING_FLAG = "outbox_pending"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(index=True)
    topic: str
    key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    headers: list = Field(sa_column=Column(JSON, nullable=False))
    value: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, index=True, sa_type=UTCDateTime)


def add_to_outbox(session: AsyncSession, topic: str, event: Envelope) -> None:
    """Stage `event` for `topic` in the caller's transaction."""
    headers, value = encode(event)
    session.add(
        OutboxMessage(
            event_id=event.id,
            topic=topic,
            key=event.key,
            headers=[[name, raw.decode()] for name, raw in headers],
            value=value,
        )
    )
    session.info[_PENDING_FLAG] = True


def add_handoff(session: AsyncSession, event: Envelope, to_topic: str) -> None:
    """Stage a hand-off: the full snapshot on the tier's topic, the same fact without it on the audit trail."""
    add_to_outbox(session, to_topic, event)
    slim = dataclasses.replace(event, data=event.data.model_copy(update={"snapshot": None}))
    add_to_outbox(session, TICKETS_EVENTS, slim)


class OutboxRelay:
    """Publishes outbox rows in id order; woken by commits, with a slow poll as a safety net."""

    def __init__(
        self,
        db: Database,
        producer,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        retention_s: float = 7 * 24 * 3600,
    ) -> None:
        self._db = db
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._retention = timedelta(seconds=retention_s)
        self._wake = asyncio.Event()
        # A batch in flight while the rows are marked for republishing would be marked published after.
        self._lock = asyncio.Lock()
        self.published = 0
        db.on_commit(self._after_commit)

    def _after_commit(self, session: AsyncSession) -> None:
        if session.info.pop(_PENDING_FLAG, False):
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Relay forever; broker errors are logged and retried, rows stay until sent."""
        last_purge = utcnow()
        while True:
            try:
                sent = await self.relay_once()
                if utcnow() - last_purge > timedelta(minutes=10):
                    await self.purge()
                    last_purge = utcnow()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
                sent = 0
                await asyncio.sleep(self._poll_interval_s)
            if sent < self._batch_size:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
                except TimeoutError:
                    pass

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows; return how many were sent."""
        async with self._lock:
            return await self._relay_batch()

    async def _relay_batch(self) -> int:
        async with self._db.read() as session:
            rows = (
                await session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.published_at).is_(None))
                    .order_by(col(OutboxMessage.id))
                    .limit(self._batch_size)
                )
            ).all()
        if not rows:
            return 0
        await self._send(rows)
        async with self._db.unit_of_work() as session:
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_([r.id for r in rows]))
                .values(published_at=utcnow())
            )
        self.published += len(rows)
        return len(rows)

    async def _send(self, rows: list[OutboxMessage]) -> None:
        # send() only appends to the producer's batches, in order; awaiting the futures
        # afterwards lets one request carry many rows while per-key order holds.
        futures = [
            await self._producer.send(
                row.topic, value=row.value, key=row.key, headers=[(n, v.encode()) for n, v in row.headers]
            )
            for row in rows
        ]
        await asyncio.gather(*futures)
        for row in rows:
            metrics.PUBLISHED.labels(row.topic).inc()

    async def republish_retained(self) -> int:
        """Mark every retained row unpublished again (the broker lost its topics)."""
        async with self._lock, self._db.unit_of_work() as session:
            result = await session.exec(update(OutboxMessage).values(published_at=None))
        self.wake()
        return result.rowcount or 0

    async def purge(self) -> int:
        """Delete published rows older than the retention period."""
        cutoff = utcnow() - self._retention
        async with self._db.unit_of_work() as session:
            result = await session.exec(
                delete(OutboxMessage).where(col(OutboxMessage.published_at) < cutoff)
            )
        return result.rowcount or 0

    async def backlog(self) -> int:
        """How many rows wait to be published; also sets the backlog gauges."""
        async with self._db.read() as session:
            count, oldest = (
                await session.exec(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        col(OutboxMessage.published_at).is_(None)
                    )
                )
            ).one()
        metrics.OUTBOX_BACKLOG.set(count)
        metrics.OUTBOX_OLDEST_AGE.set((utcnow() - oldest).total_seconds() if oldest else 0)
        return count
