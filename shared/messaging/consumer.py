"""The one consumer loop: a consumer group, its fetches, coalesced offset commits.

Each fetch (every partition it brought) is applied in one transaction (shared.messaging.applying:
inbox de-duplication, bounded retries, DLQ); its offsets are committed only after that
transaction, coalesced: at most once a `_COMMIT_AFTER_S` (and at a stop or a rebalance), so a
fetch of records this service skips costs no commit of its own. When to fetch is
`shared.messaging.fetching`'s: woken by a publish on this host, or paced by the broker's fetch
wait. A database that is away holds the loop in the applier: nothing is committed meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from sqlmodel import SQLModel

from shared import sqlite_inline
from shared.config import ServiceSettings
from shared.db import Database
from shared.messaging import doorbell, metrics
from shared.messaging.applying import Applier, Handler, Subscriptions
from shared.messaging.broker import MAX_MESSAGE_BYTES
from shared.messaging.fetching import BrokerPaced, Woken

log = logging.getLogger(__name__)

_LOCK_WAIT_S = 2.0
# Offsets handled are committed this long after the first of them at most: a crash replays
# that much, which the inbox drops.
_COMMIT_AFTER_S = 1.0

__all__ = ["ConsumerRunner", "Handler", "Subscriptions"]  # the types services declare their subscriptions with


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
        self._subscriptions = subscriptions
        self._applier = Applier(settings=settings, db=db, producer=producer, subscriptions=subscriptions, preload=preload)
        self._max_records = max_records
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        self._rewind = False
        # Until then (monotonic), the group's next assignment is read from the start too (see rewind()).
        self._rewind_assignments_until = 0.0
        self._fetching: BrokerPaced | Woken | None = None
        self._uncommitted: dict[TopicPartition, int] = {}
        self._commit_at: float | None = None

    @property
    def dead_lettered(self) -> int:
        """How many records this runner sent to a dead-letter topic."""
        return self._applier.dead_lettered

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
        # let go between the applier's storage retries, so requests get their turn meanwhile.
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
                await self._applier.apply(batches)
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
