"""Watches `tickets.events` from the bench process: when each ticket was seen submitted and routed."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.config import ServiceSettings
from shared.topics import TICKETS_EVENTS


class EventWatch:
    """A group-less consumer of `tickets.events` from the earliest offset, with the services' fetch settings."""

    def __init__(self, bootstrap: str, settings: ServiceSettings) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
            auto_offset_reset="earliest", fetch_max_wait_ms=settings.fetch_max_wait_ms,
            client_id="escalier-bench",
        )
        self.submitted: dict[str, tuple[float, float]] = {}  # ticket id -> (seen on the bus, event time)
        self.routed: dict[str, tuple[float, int, float]] = {}  # ticket id -> (seen, tier, event time)
        self._task: asyncio.Task | None = None
        self._waiting: dict[str, asyncio.Future] = {}

    async def start(self, timeout_s: float = 60.0) -> None:
        """Assign every partition, read the history up to now, then keep watching in the background."""
        await self._consumer.start()
        async with asyncio.timeout(timeout_s):
            while not (parts := self._consumer.partitions_for_topic(TICKETS_EVENTS)):
                await self._consumer.topics()  # refreshes metadata
                await asyncio.sleep(0.1)
        self._consumer.assign([TopicPartition(TICKETS_EVENTS, p) for p in parts])
        await self._consumer.seek_to_beginning()
        # Earlier tickets' events (another run, other tests) would be stamped with catch-up times.
        while await self._poll(500):
            pass
        self.submitted.clear()
        self.routed.clear()
        self._task = asyncio.create_task(self._run())

    async def _poll(self, timeout_ms: int) -> int:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=5000)
        now = time.time()
        count = 0
        for records in batches.values():
            for record in records:
                count += 1
                self._note(record, now)
        return count

    def _note(self, record, now: float) -> None:
        headers = dict(record.headers or ())
        kind = headers.get("ce_type")
        ticket_id = record.key.decode() if record.key else ""
        if kind == b"ticket.submitted" and ticket_id not in self.submitted:
            self.submitted[ticket_id] = (now, _event_time(headers, now))
        elif kind == b"ticket.routed" and ticket_id not in self.routed:
            self.routed[ticket_id] = (now, _tier(record.value), _event_time(headers, now))
            if (waiter := self._waiting.pop(ticket_id, None)) and not waiter.done():
                waiter.set_result(now)

    async def wait_routed(self, ticket_id: str, timeout_s: float) -> float | None:
        """When `ticket_id` was seen routed, waiting for it up to `timeout_s`; None if it was not."""
        if ticket_id in self.routed:
            return self.routed[ticket_id][0]
        waiter = self._waiting.setdefault(ticket_id, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), timeout_s)
        except TimeoutError:
            self._waiting.pop(ticket_id, None)
            return None

    async def _run(self) -> None:
        while True:
            await self._poll(1000)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()


def _event_time(headers: dict, default: float) -> float:
    # ce_time is stamped when the service decided (inside its transaction), before commit and relay.
    raw = headers.get("ce_time")
    return datetime.fromisoformat(raw.decode()).timestamp() if raw else default


def _tier(value: bytes | None) -> int:
    # Reading one field of the payload; a full decode would cost the bench CPU the system needs.
    marker = b'"tier":'
    at = (value or b"").find(marker)
    return int(value[at + len(marker) : at + len(marker) + 1]) if at >= 0 else 0
