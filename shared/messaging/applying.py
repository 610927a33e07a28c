"""A fetch's records applied once each: decoded, de-duplicated by the inbox, handled in one transaction.

A batch that fails is replayed one message at a time, with bounded retries; a message that still
fails, or can never be decoded, goes to the topic's `.dlq` with the reason and the source offset,
and the partition moves on. A locked, full or unreachable database (shared/storage.py) is not the
message's fault: it is waited for, with back-off, and nothing is dead-lettered meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import MessageSizeTooLargeError
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import tracing
from shared.config import ServiceSettings
from shared.db import Database
from shared.messages.envelope import Envelope, PoisonMessage, decode, peek_type
from shared.messages.registry import EVENT_TYPES
from shared.messaging import metrics, preload
from shared.messaging.inbox import first_deliveries, first_delivery
from shared.storage import StorageFault, storage_fault
from shared.topics import dlq

log = logging.getLogger("shared.messaging.consumer")  # the consumer's lines, as before the split

# How long a batch runs on the loop before it lets other work in.
_YIELD_EVERY_S = 0.005

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
# topic -> event type -> handler; types a service does not list are skipped.
Subscriptions = Mapping[str, Mapping[str, Handler]]


@dataclass(frozen=True, slots=True)
class _Decoded:
    record: ConsumerRecord
    event: Envelope
    handler: Handler


class Applier:
    """Applies the records of one service's subscriptions, each exactly once."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        db: Database,
        producer: AIOKafkaProducer,
        subscriptions: Subscriptions,
        preload: Sequence[type[SQLModel]] = (),
    ) -> None:
        self._settings = settings
        self._db = db
        self._producer = producer
        self._subscriptions = subscriptions
        self._preload = preload  # models whose rows keyed by the batch's subjects are read at once
        self.dead_lettered = 0

    async def apply(self, batches: Mapping[TopicPartition, list[ConsumerRecord]]) -> None:
        """Apply a fetch (every partition it brought); returns once it is stored or dead-lettered."""
        decoded = await self._decode(batches)
        if decoded:
            await self._apply_batch(decoded)

    async def _decode(self, batches: Mapping[TopicPartition, list[ConsumerRecord]]) -> list[_Decoded]:
        """The records this service handles, decoded; the others counted and skipped, the undecodable dead-lettered."""
        decoded: list[_Decoded] = []
        for tp, records in batches.items():
            handlers = self._subscriptions[tp.topic]
            for record in records:
                kind = peek_type(record.headers)
                if kind in EVENT_TYPES and kind not in handlers:
                    # A well-known type this service does not handle: skipped without reading
                    # its payload (most of what a tier or triage sees on tickets.events).
                    metrics.child(metrics.CONSUMED, tp.topic, kind).inc()
                    continue
                try:
                    event = decode(record.headers, record.value, record.key)
                except PoisonMessage as exc:
                    await self._dead_letter(record, str(exc))
                    continue
                metrics.child(metrics.CONSUMED, tp.topic, event.type).inc()
                handler = handlers.get(event.type)
                if handler is not None:
                    decoded.append(_Decoded(record, event, handler))
        return decoded

    async def _apply_batch(self, decoded: list[_Decoded]) -> None:
        """The whole fetch in one transaction; when it fails, each record alone, with retries."""
        waited = 0
        while True:
            try:
                async with self._db.unit_of_work() as session:
                    fresh = await first_deliveries(session, [(i.record.topic, i.event.id) for i in decoded])
                    if self._preload:
                        subjects = [i.event.subject for i, is_new in zip(decoded, fresh) if is_new and i.event.subject]
                        await preload.preload(session, self._preload, subjects)
                    yielded = time.monotonic()
                    handled = []
                    for item, is_new in zip(decoded, fresh):
                        if is_new:
                            await self._handle(session, item)
                            handled.append(item)
                        if time.monotonic() - yielded > _YIELD_EVERY_S:
                            # SQLite's statements run on the loop's thread (shared.sqlite_inline):
                            # let requests and calls in flight go on now and then, not after
                            # every event (the batch holds the writer meanwhile).
                            await asyncio.sleep(0)
                            yielded = time.monotonic()
                _log_handled(handled)
                return
            except Exception as exc:
                fault = storage_fault(exc)
                if fault is None:
                    log.warning("batch of %d failed; replaying one by one", len(decoded), exc_info=True)
                    break
                # The database is locked, full or away: wait for it (cancelled at shutdown, and then
                # nothing is committed), never dead-letter good events for it.
                waited = await self._wait_for_storage(fault, waited, len(decoded), exc)
        for item in decoded:
            await self._apply_alone(item)

    async def _wait_for_storage(self, fault: StorageFault, waited: int, count: int, exc: Exception) -> int:
        """Back off (0.2 s doubling up to 5 s) and count the waits; a line at the first and every 10th."""
        if waited % 10 == 0:
            log.warning("database %s (%r): holding %d events, retrying until it is back", fault.kind, exc, count)
        metrics.STORAGE_WAITS.labels(fault.kind).inc()
        await asyncio.sleep(min(5.0, 0.2 * 2 ** min(waited, 5)))  # a back-off, not a synchronisation
        return waited + 1

    async def _apply(self, session: AsyncSession, item: _Decoded) -> bool:
        if await first_delivery(session, item.record.topic, item.event.id):
            await self._handle(session, item)
            return True
        return False

    @staticmethod
    async def _handle(session: AsyncSession, item: _Decoded) -> None:
        # In the trace of the record (what it stages carries it on), with its ids on every log line.
        event, traceparent = item.event, tracing.header_value(item.record.headers)
        with tracing.scope(traceparent, name=f"handle {event.type}", ticket_id=event.subject, event_id=event.id):
            await item.handler(session, event)

    async def _apply_alone(self, item: _Decoded) -> None:
        retries = self._settings.consumer_max_retries
        attempt = waited = 0
        while True:
            try:
                async with self._db.unit_of_work() as session:
                    applied = await self._apply(session, item)
                _log_handled([item] if applied else [])
                return
            except PoisonMessage as exc:
                await self._dead_letter(item.record, str(exc))
                return
            except Exception as exc:
                fault = storage_fault(exc)
                if fault is not None:  # not the event's fault: no attempt counted
                    waited = await self._wait_for_storage(fault, waited, 1, exc)
                    continue
                if attempt == retries:
                    await self._dead_letter(item.record, f"failed after {retries + 1} attempts: {exc!r}")
                    return
                await asyncio.sleep(0.1 * 2**attempt)
                attempt += 1

    async def _dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        log.error("dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)
        headers = list(record.headers or ()) + [
            ("dlq_reason", reason[:2000].encode()),
            ("dlq_source_topic", record.topic.encode()),
            ("dlq_source_partition", str(record.partition).encode()),
            ("dlq_source_offset", str(record.offset).encode()),
            ("dlq_consumer_group", self._settings.consumer_group.encode()),
        ]
        value = record.value
        try:
            await self._producer.send_and_wait(dlq(record.topic), value=value, key=record.key, headers=headers)
        except MessageSizeTooLargeError:
            truncated = (value or b"")[: 64 * 1024]
            headers.append(("dlq_truncated_from", str(len(value or b"")).encode()))
            await self._producer.send_and_wait(dlq(record.topic), value=truncated, key=record.key, headers=headers)
        metrics.DEAD_LETTERED.labels(record.topic).inc()
        self.dead_lettered += 1


def _log_handled(items: Sequence[_Decoded]) -> None:
    """One line a batch (the records' own ids in `events`: type, ticket, event, trace)."""
    if items and log.isEnabledFor(logging.INFO):
        events = []
        for item in items:
            traceparent = tracing.header_value(item.record.headers)
            trace_id = traceparent.decode().split("-")[1] if traceparent and traceparent.count(b"-") >= 2 else None
            events.append([item.event.type, item.event.subject, item.event.id, trace_id])
        topics = sorted({item.record.topic for item in items})
        log.info("handled %d events from %s", len(items), ", ".join(topics), extra={"events": events})


