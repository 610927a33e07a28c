"""The one consumer loop: a consumer group, batches, inbox de-duplication, bounded retries, DLQ.

Each fetch (every partition it brought) is applied in one transaction; its offsets are
committed only after that transaction, coalesced: at most once a `_COMMIT_AFTER_S` (and at a
stop or a rebalance), so a fetch of records this service skips costs no commit of its own.
When to fetch is `shared.messaging.fetching`'s: woken by a publish on this host, or paced by
the broker's fetch wait. A batch that fails is replayed one message at a time, with
bounded retries; a message that still fails, or can never be decoded, goes to the
topic's `.dlq` with the reason and the source offset, and the partition moves on. A locked, full
or unreachable database (shared/storage.py) is not the message's fault: it is waited for, with
back-off, and nothing is dead-lettered or committed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import sqlite_inline, tracing
from shared.config import ServiceSettings
from shared.db import Database
from shared.messages.envelope import Envelope, PoisonMessage, decode, peek_type
from shared.messages.registry import EVENT_TYPES
from shared.messaging import doorbell, metrics, preload
from shared.messaging.broker import MAX_MESSAGE_BYTES
from shared.messaging.fetching import BrokerPaced, Woken
from shared.messaging.inbox import first_deliveries, first_delivery
from shared.storage import StorageFault, storage_fault
from shared.topics import dlq

log = logging.getLogger(__name__)

# How long a batch runs on the loop before it lets other work in.
_YIELD_EVERY_S = 0.005
_LOCK_WAIT_S = 2.0
# Offsets handled are committed this long after the first of them at most: a crash replays
# that much, which the inbox drops.
_COMMIT_AFTER_S = 1.0

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
# topic -> event type -> handler; types a service does not list are skipped.
Subscriptions = Mapping[str, Mapping[str, Handler]]


@dataclass(frozen=True, slots=True)
class _Decoded:
    record: ConsumerRecord
    event: Envelope
    handler: Handler


class ConsumerRunner:
    """Runs one service's subscriptions in its consumer group."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        db: Database,
        producer: AIOKafkaProducer,
        subscriptions: Subscriptions,
        preload: Sequence[type[SQLModel]] = (),
        max_records: int = 500,
    ) -> None:
        self._settings = settings
        self._db = db
        self._producer = producer
        self._subscriptions = subscriptions
        self._preload = preload  # models whose rows keyed by the batch's subjects are read at once
        self._max_records = max_records
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        self._rewind = False
        # Until then (monotonic), the group's next assignment is read from the start too (see rewind()).
        self._rewind_assignments_until = 0.0
        self._fetching: BrokerPaced | Woken | None = None
        self._uncommitted: dict[TopicPartition, int] = {}
        self._commit_at: float | None = None
        self.dead_lettered = 0

    @property
    def assigned(self) -> bool:
        """Whether the group gave this member its partitions (readiness)."""
        return bool(self._consumer and self._consumer.assignment())

    async def start(self) -> None:
        s = self._settings
        woken = s.consumer_wakeups
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=s.consumer_group,
            client_id=f"escalier-{s.service_name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # "latest" is wrong on Tansu (KAFKA-NOTES.md)
            # Woken, only a drain ever waits on an empty fetch (and holds back other fetches meanwhile).
            fetch_max_wait_ms=s.woken_fetch_wait_ms if woken else s.fetch_max_wait_ms,
            # The client's fetch loop looks around this often when it has nothing to fetch (200 ms
            # by default); woken, a resume or an assignment wakes it anyway.
            consumer_timeout_ms=2000 if woken else 200,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
            fetch_max_bytes=4 * MAX_MESSAGE_BYTES,
        )
        self._consumer.subscribe(list(self._subscriptions), listener=_CommitOnRevoke(self))
        self._fetching = BrokerPaced(self._consumer)
        if woken:
            try:
                folder = doorbell.folder(s.kafka_bootstrap_servers, s.wakeup_dir)
                self._fetching = Woken(
                    self._consumer, doorbell.Doorbell(folder, self._subscriptions, s.consumer_group),
                    safety_poll_s=s.consumer_safety_poll_s, fetch_wait_s=s.woken_fetch_wait_ms / 1000,
                )
            except OSError as exc:
                log.warning("no wake-ups (%r): fetching on the broker's pace", exc)
        await self._consumer.start()

    async def run(self) -> None:
        """Consume until stop(); the batch in hand is finished and committed first."""
        assert self._consumer is not None, "start() first"
        # Short waits for another process's lock (this task's statements only): the writer is
        # let go between the storage retries of _process, so requests get their turn meanwhile.
        sqlite_inline.LOCK_WAIT_S.set(_LOCK_WAIT_S)
        while not self._stopping.is_set():
            if self._rewind and self._consumer.assignment():
                self._rewind = False
                self._uncommitted.clear()  # positions of a log that is gone
                self._commit_at = None  # nothing left to commit: a due time kept would spin this loop
                await self._consumer.seek_to_beginning()
                self._fetching.drain_all()
            until = self._commit_at if self._commit_at is not None else time.monotonic() + 3600
            batches = await self._fetching.next(self._max_records, until)
            if batches:
                await self._process(batches)
                self._uncommitted.update({tp: records[-1].offset + 1 for tp, records in batches.items()})
                if self._commit_at is None:
                    self._commit_at = time.monotonic() + _COMMIT_AFTER_S
            if self._commit_at is not None and time.monotonic() >= self._commit_at:
                await self.commit()
        await self.commit()

    async def commit(self, partitions: set[TopicPartition] | None = None) -> None:
        """Commit the positions handled and not yet committed (of `partitions`, or all)."""
        positions = {tp: p for tp, p in self._uncommitted.items() if partitions is None or tp in partitions}
        if not positions:
            if not self._uncommitted:
                self._commit_at = None
            return
        try:
            await self._consumer.commit(positions)
        except KafkaError as exc:
            # A rebalance or a broker restart: the fetch is applied, a redelivery meets the inbox.
            log.warning("commit of %d partitions failed (%r); carrying on", len(positions), exc)
        for tp, position in positions.items():
            if self._uncommitted.get(tp) == position:
                del self._uncommitted[tp]
            self._observe_lag(tp, position)
        self._commit_at = (time.monotonic() + _COMMIT_AFTER_S) if self._uncommitted else None

    def stop(self) -> None:
        self._stopping.set()
        if self._fetching is not None:
            self._fetching.wake()

    def rewind(self) -> None:
        """Read every assigned partition again from its start: the broker came back empty, and a
        position kept from before may have skipped republished records (the inbox drops repeats).

        The group's next assignment is rewound too: the broker forgot the group, and its members
        rejoin when their heartbeat fails, which on Tansu takes about half the session timeout,
        before or after this call. Joined after it, a member starts from the offsets committed to
        the new broker meanwhile, positions of the old log or read past records not yet
        republished: every consumer of a topic then misses the same events for good."""
        self._rewind = True
        # A rejoin comes within a few session timeouts; one long after is an ordinary rebalance.
        self._rewind_assignments_until = time.monotonic() + 3 * self._settings.session_timeout_ms / 1000
        if self._fetching is not None:
            self._fetching.wake()

    async def observe_lag(self) -> None:
        """Set the lag gauge of every assigned partition (at a scrape)."""
        if self._consumer is None:
            return
        for tp in self._consumer.assignment():
            try:
                self._observe_lag(tp, await asyncio.wait_for(self._consumer.position(tp), 0.5))
            except (KafkaError, TimeoutError, AssertionError, ValueError):
                continue  # no position yet: no figure

    def _observe_lag(self, tp: TopicPartition, position: int) -> None:
        # highwater - position: Tansu's end offsets are wrong (KAFKA-NOTES.md), its highwater is not.
        highwater = self._consumer.highwater(tp)
        if highwater is not None:
            metrics.child(metrics.CONSUMER_LAG, tp.topic, str(tp.partition)).set(max(0, highwater - position))

    async def close(self) -> None:
        if self._fetching is not None:
            self._fetching.close()
        if self._consumer is not None:
            await self._consumer.stop()

    async def _process(self, batches: Mapping[TopicPartition, list[ConsumerRecord]]) -> None:
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
                    event = decode(record.headers, record.value)
                except PoisonMessage as exc:
                    await self._dead_letter(record, str(exc))
                    continue
                metrics.child(metrics.CONSUMED, tp.topic, event.type).inc()
                handler = handlers.get(event.type)
                if handler is not None:
                    decoded.append(_Decoded(record, event, handler))
        if not decoded:
            return
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


class _CommitOnRevoke(ConsumerRebalanceListener):
    """What was handled of a partition is committed before another member takes it over."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked) -> None:
        await self._runner.commit(set(revoked))

    async def on_partitions_assigned(self, assigned) -> None:
        runner = self._runner
        if assigned and time.monotonic() < runner._rewind_assignments_until:
            runner._rewind_assignments_until = 0.0
            runner._rewind = True  # the loop seeks to the beginning before its next fetch
            if runner._fetching is not None:
                runner._fetching.wake()
