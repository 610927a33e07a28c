"""`escalier watch`: follow `tickets.events` live, filtered by organization, tier and event type."""

from __future__ import annotations

import argparse
import asyncio
import os

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.messages.envelope import PoisonMessage, decode
from shared.messages.registry import EVENT_TYPES
from shared.topics import TICKETS_EVENTS

from escalier_cli.watch.state import Filters, WatchState


def add_parser(sub) -> None:
    p = sub.add_parser("watch", help="live view of the event stream and of each tier's queue")
    p.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    p.add_argument("--organization", action="append", default=[], help="only this organization (repeatable)")
    p.add_argument("--tier", action="append", type=int, choices=[1, 2, 3], default=[], help="only this tier (repeatable)")
    p.add_argument("--type", action="append", default=[], choices=sorted(t for t in EVENT_TYPES if t.startswith("ticket.")),
                   metavar="TYPE", help="only this event type, e.g. ticket.escalated (repeatable)")
    p.add_argument("--rows", type=int, default=25, help="events shown")
    p.add_argument("--once", action="store_true", help="print one screen once caught up with the stream, then exit")
    p.set_defaults(func=cmd_watch)


class Follower:
    """A group-less consumer of every partition from the beginning: the history builds the queues."""

    def __init__(self, bootstrap: str, state: WatchState) -> None:
        self.state = state
        self.caught_up = False
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                          auto_offset_reset="earliest", fetch_max_wait_ms=100, client_id="escalier-watch")
        self._ends: dict[TopicPartition, int] = {}

    async def start(self, timeout_s: float = 30.0) -> None:
        await self._consumer.start()
        async with asyncio.timeout(timeout_s):
            while not (partitions := self._consumer.partitions_for_topic(TICKETS_EVENTS)):
                await self._consumer.topics()
                await asyncio.sleep(0.1)
        parts = [TopicPartition(TICKETS_EVENTS, p) for p in sorted(partitions)]
        self._consumer.assign(parts)
        self._ends = await self._consumer.end_offsets(parts)
        await self._consumer.seek_to_beginning(*parts)

    async def poll(self) -> int:
        """Fold what arrived into the state; how many records."""
        batches = await self._consumer.getmany(timeout_ms=250, max_records=5000)
        for records in batches.values():
            for record in records:
                try:
                    self.state.add(decode(record.headers, record.value, record.key))
                except PoisonMessage:
                    continue
        if not self.caught_up:
            positions = {tp: await self._consumer.position(tp) for tp in self._ends}
            self.caught_up = all(positions[tp] >= end for tp, end in self._ends.items())
        return sum(len(r) for r in batches.values())

    async def stop(self) -> None:
        await self._consumer.stop()


async def watch(args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.live import Live

    from escalier_cli.watch.view import render

    filters = Filters(frozenset(args.organization), frozenset(args.tier), frozenset(args.type))
    follower = Follower(args.bootstrap, WatchState(filters, keep=args.rows))
    await follower.start()
    console = Console()
    try:
        if args.once:
            idle = 0
            while not follower.caught_up and idle < 20:  # 5 s without records: an over-reported end offset
                idle = 0 if await follower.poll() else idle + 1
            console.print(render(follower.state, caught_up=True, source=f"{TICKETS_EVENTS} on {args.bootstrap}"))
            return
        with Live(console=console, refresh_per_second=4, screen=False) as live:
            while True:
                await follower.poll()
                live.update(render(follower.state, caught_up=follower.caught_up, source=f"{TICKETS_EVENTS} on {args.bootstrap}"))
    finally:
        await follower.stop()


def cmd_watch(args: argparse.Namespace) -> int:
    try:
        asyncio.run(watch(args))
    except KeyboardInterrupt:
        pass
    return 0
