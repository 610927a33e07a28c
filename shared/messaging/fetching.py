"""When a consumer fetches: paced by the broker's fetch wait, or woken by a doorbell.

`BrokerPaced` is the plain Kafka way: every assigned partition is fetched all the time and
the broker holds an empty fetch for `fetch_max_wait_ms`. A real Kafka answers such a fetch
the moment data arrives; Tansu only at its next re-check, so there it costs either latency or
a busy broker (KAFKA-NOTES.md).

`Woken` keeps every partition paused and fetches only the ones a wake-up names
(shared/messaging/doorbell.py), until the records rung for are in hand; then they are paused
again before the client can send another fetch. Every partition is drained (fetched until
a fetch comes back with nothing beyond what was handled) when it is assigned, after a rewind,
and every safety poll, which is what catches a lost wake-up or a producer that rings no bell.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.messaging.doorbell import Doorbell
from shared.waits import wait_for_event

Batches = Mapping[TopicPartition, list[ConsumerRecord]]

# The longest a getmany waits before the loop looks at its bell, assignment and clock again.
_LOOK_AGAIN_S = 1.0


class BrokerPaced:
    """Fetch everything, always; the broker's fetch wait paces the loop."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer

    async def next(self, max_records: int, until: float) -> Batches:
        timeout_s = max(0.0, min(until - time.monotonic(), _LOOK_AGAIN_S))
        return await self._consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_records)

    def drain_all(self) -> None:
        pass  # every partition is always fetched

    def wake(self) -> None:
        pass  # next() returns within _LOOK_AGAIN_S anyway

    def close(self) -> None:
        pass


class Woken:
    """Fetch only what a wake-up names, everything at each safety poll; sleep in between."""

    def __init__(
        self, consumer: AIOKafkaConsumer, doorbell: Doorbell, *, safety_poll_s: float, fetch_wait_s: float
    ) -> None:
        self._consumer = consumer
        self._doorbell = doorbell
        self._safety_poll_s = safety_poll_s
        # An empty fetch comes back after the broker's fetch wait, and the client sends the next
        # one at once: a drain looks again just after the first, or it keeps the broker polled.
        self._drain_look_s = fetch_wait_s + 0.005
        self._next_drain = 0.0  # monotonic: everything is drained at the first call
        self._known: frozenset[TopicPartition] = frozenset()
        self._rung: dict[TopicPartition, tuple[int, int]] = {}  # partition -> (end offset to reach, epoch ms rung)
        self._draining: dict[TopicPartition, int] = {}  # partition -> epoch ms the drain began
        self._handled_to: dict[TopicPartition, int] = {}  # partition -> offset after the last record returned
        self._interrupted = False
        self.wakeups = 0

    def drain_all(self) -> None:
        """Fetch every partition until it is caught up (after a rewind; at the safety poll)."""
        self._next_drain = 0.0
        self._handled_to.clear()
        self._rung.clear()  # ends of a log that may be gone: the drain reads what there is

    def wake(self) -> None:
        """Make next() return now (a stop, a rewind)."""
        self._interrupted = True
        self._doorbell.rung.set()

    def close(self) -> None:
        self._doorbell.close()

    async def next(self, max_records: int, until: float) -> Batches:
        """The next records of the partitions that want fetching, or nothing at `until`."""
        consumer = self._consumer
        while True:
            self._look_around()
            wanted = set(self._rung) | set(self._draining)
            if wanted:
                look_s = _LOOK_AGAIN_S if self._rung else self._drain_look_s
                timeout_s = max(0.0, min(until - time.monotonic(), look_s))
                batches = await consumer.getmany(*wanted, timeout_ms=int(timeout_s * 1000), max_records=max_records)
                # No await from here to the pause: the client sends its next fetch only once
                # this task lets the loop run, and then it must find these partitions paused.
                self._settle(wanted, batches, sum(map(len, batches.values())) < max_records)
                if batches or time.monotonic() >= until:
                    return batches
                continue
            remaining = min(until, self._next_drain) - time.monotonic()
            if remaining > 0 and await wait_for_event(self._doorbell.rung, remaining):
                self.wakeups += 1
            if self._interrupted or time.monotonic() >= until:
                self._interrupted = False
                return {}

    def _look_around(self) -> None:
        """Take the wake-ups, follow the assignment, start the safety drain when due."""
        consumer = self._consumer
        assigned = frozenset(consumer.assignment())
        now_ms = int(time.time() * 1000)
        if assigned != self._known:
            for tp in assigned - self._known:
                self._draining[tp] = now_ms
            for tp in self._known - assigned:
                self._rung.pop(tp, None)
                self._draining.pop(tp, None)
                self._handled_to.pop(tp, None)
            self._known = assigned
        if time.monotonic() >= self._next_drain:
            self._next_drain = time.monotonic() + self._safety_poll_s
            for tp in assigned:
                self._draining.setdefault(tp, now_ms)
            # What was rung for is in the log by now: the drain reads it, and an end this member
            # will never reach (its records read before a rebalance) holds nothing up.
            self._rung.clear()
        for (topic, partition), end in self._doorbell.take().items():
            tp = TopicPartition(topic, partition)
            if tp in assigned and end > self._handled_to.get(tp, -1):
                self._rung[tp] = (max(end, self._rung.get(tp, (0, 0))[0]), now_ms)
        wanted = self._rung.keys() | self._draining.keys()
        paused = consumer.paused()
        if resume := [tp for tp in wanted if tp in paused]:
            consumer.resume(*resume)
        if pause := [tp for tp in assigned if tp not in wanted and tp not in paused]:
            consumer.pause(*pause)

    def _settle(self, wanted: set[TopicPartition], batches: Batches, all_taken: bool) -> None:
        """Forget (and pause) the partitions whose records are all in hand."""
        for tp, records in batches.items():
            self._handled_to[tp] = records[-1].offset + 1
        done = []
        for tp in wanted:
            handled = self._handled_to.get(tp)
            if tp in self._rung:
                end, since_ms = self._rung[tp]
                # The end is what the broker acknowledged; only a partition never handled here (just
                # assigned, rewound) may be caught up below it.
                if handled >= end if handled is not None else self._caught_up(tp, since_ms, tp in batches, all_taken):
                    del self._rung[tp]
                else:
                    continue
            if tp in self._draining:
                if self._caught_up(tp, self._draining[tp], tp in batches, all_taken):
                    del self._draining[tp]
                else:
                    continue
            done.append(tp)
        if done:
            self._consumer.pause(*[tp for tp in done if tp in self._known])

    def _caught_up(self, tp: TopicPartition, since_ms: int, returned: bool, all_taken: bool) -> bool:
        """A fetch answered after `since_ms`, and nothing it brought is left unreturned."""
        polled, highwater = self._consumer.last_poll_timestamp(tp), self._consumer.highwater(tp)
        if polled is None or polled <= since_ms or highwater is None or not all_taken:
            return False
        handled = self._handled_to.get(tp)
        return not returned or (handled is not None and handled >= highwater)
