"""The transactional outbox: events are rows written in the same transaction as the state change.

The relay publishes unpublished rows in order, marks them published, and keeps
them for a retention period so that an empty broker can be refilled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import JSON, Column, LargeBinary, Row, delete, func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import tracing
from shared.background import OneAtATime
from shared.db import Database, UTCDateTime, execute, stage_insert, utcnow
from shared.messages.envelope import Envelope, encode
from shared.messaging import metrics
from shared.messaging.doorbell import Bell
from shared.messaging.lease import LeaseKeeper
from shared.topics import TICKETS_EVENTS
from shared.waits import wait_for_event

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
    """Stage `event` for `topic` in the caller's transaction (inserted, in order, when it commits)."""
    headers, value = encode(event)
    tracing.annotate(ticket_id=event.subject, event_id=event.id)
    headers.append((tracing.HEADER, tracing.outgoing().encode()))
    stage_insert(
        session,
        OutboxMessage.__table__,
        {
            "event_id": event.id,
            "topic": topic,
            "key": event.key,
            "headers": [[name, raw.decode()] for name, raw in headers],
            "value": value,
            "created_at": utcnow(),
        },
    )
    session.info[_PENDING_FLAG] = True


def add_handoff(session: AsyncSession, event: Envelope, to_topic: str) -> None:
    """Stage a hand-off: the full snapshot on the tier's topic, the same fact without it on the audit trail."""
    add_to_outbox(session, to_topic, event)
    slim = dataclasses.replace(event, data=event.data.model_copy(update={"snapshot": None}))
    add_to_outbox(session, TICKETS_EVENTS, slim)


class OutboxRelay:
    """Publishes outbox rows in id order; woken by commits, with a slow poll as a safety net.

    Rows sent are remembered in memory and marked published in the database at most every
    `mark_interval_s` (one UPDATE for many batches), so publishing never waits for the
    write lock. A crash before the mark only republishes those rows: consumers' inboxes
    drop the duplicates.
    """

    def __init__(
        self,
        db: Database,
        producer,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        mark_interval_s: float = 0.5,
        retention_s: float = 7 * 24 * 3600,
        lease: LeaseKeeper | None = None,
        bell: Bell | None = None,
    ) -> None:
        self._db = db
        self._bell = bell  # rung after each acknowledged batch: this host's consumers fetch at once
        self._lease = lease  # replicas sharing the database: only the holder publishes
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._mark_interval_s = mark_interval_s
        self._retention = timedelta(seconds=retention_s)
        self._wake = asyncio.Event()
        self._sent: list[int] = []  # published, not yet marked in the database
        self._after_id: int | None = None  # every unpublished row up to here was sent since the last mark
        self._generation = 0  # bumped by republish_retained: sends begun before it are forgotten
        # In the background: the mark waits its turn for the writer behind every request, and
        # publishing must not wait with it.
        self._marking = OneAtATime("could not mark sent outbox rows published; trying again")
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
        last_mark = time.monotonic()
        while True:
            # Cleared before the round, not after: a commit during it wakes the next one.
            self._wake.clear()
            try:
                sent = await self.publish_batch() if await self._leading() else 0
                if self._sent and not self._marking.running and (
                    time.monotonic() - last_mark >= self._mark_interval_s or len(self._sent) >= 20 * self._batch_size
                ):
                    self._marking.start(self._mark)
                    last_mark = time.monotonic()
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
                wait_s = self._mark_interval_s if self._sent else self._poll_interval_s
                await wait_for_event(self._wake, wait_s)

    async def _leading(self) -> bool:
        return self._lease is None or await self._lease.keep()

    async def close(self) -> None:
        """Mark what was sent and hand the lease over (a clean stop)."""
        await self._marking.finished()
        await self._mark()
        if self._lease is not None:
            await self._lease.release()

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows and mark what was sent; return how many were sent."""
        sent = await self.publish_batch()
        await self._mark()
        return sent

    async def publish_batch(self) -> int:
        """Publish the next batch of unsent rows; they are marked published later, in bulk."""
        generation = self._generation
        # Columns, not ORM objects: nothing here is changed through the session.
        m = OutboxMessage
        query = select(m.id, m.topic, m.key, m.value, m.headers).where(col(m.published_at).is_(None))
        if self._after_id is not None:
            query = query.where(col(OutboxMessage.id) > self._after_id)
        async with self._db.read() as session:
            rows = (await execute(session, query.order_by(col(OutboxMessage.id)).limit(self._batch_size))).all()
        if not rows:
            return 0
        await self._send(rows)
        if generation == self._generation:
            self._sent.extend(r.id for r in rows)
            self._after_id = rows[-1].id
        self.published += len(rows)
        return len(rows)

    async def _mark(self) -> None:
        """Mark the rows sent since the last mark published, in one transaction."""
        ids, generation = self._sent, self._generation
        if ids:
            self._sent = []
            try:
                await self._mark_published(ids, generation)
            except BaseException:
                if generation == self._generation:
                    self._sent = ids + self._sent  # marked by a later try (after a republish, never)
                raise
        # Rescan from the oldest unpublished row: on PostgreSQL a lower id can commit after
        # a higher one was sent.
        if not self._sent:
            self._after_id = None

    async def _mark_published(self, ids: list[int], generation: int) -> None:
        now = utcnow()
        async with self._db.unit_of_work() as session:
            if generation != self._generation:
                return  # the broker lost them meanwhile: they are to be sent again
            for chunk in range(0, len(ids), 1000):
                await execute(
                    session,
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_(ids[chunk : chunk + 1000]))
                    .values(published_at=now)
                )

    async def _send(self, rows: Sequence[Row]) -> None:
        # send() only appends to the producer's batches, in order; awaiting the futures
        # afterwards lets one request carry many rows while per-key order holds.
        futures = [
            await self._producer.send(
                row.topic, value=row.value, key=row.key, headers=[(n, v.encode()) for n, v in row.headers]
            )
            for row in rows
        ]
        acknowledged = await asyncio.gather(*futures)
        for row in rows:
            metrics.child(metrics.PUBLISHED, row.topic).inc()
        if self._bell is not None:
            grown: dict[str, dict[int, int]] = {}
            for record in acknowledged:
                ends = grown.setdefault(record.topic, {})
                ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
            for topic, ends in grown.items():
                self._bell.ring(topic, ends)

    async def republish_retained(self) -> int:
        """Mark every retained row unpublished again (the broker lost its topics)."""
        self._generation += 1
        self._sent, self._after_id = [], None
        async with self._db.unit_of_work() as session:
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
        count = max(0, count - len(self._sent))  # sent, not yet marked
        metrics.OUTBOX_BACKLOG.set(count)
        metrics.OUTBOX_OLDEST_AGE.set((utcnow() - oldest).total_seconds() if oldest else 0)
        return count
