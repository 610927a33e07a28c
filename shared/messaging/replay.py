"""Read a topic from its beginning to where it ended when the replay started: reports, audits.

A fresh group-less consumer with every partition assigned by hand, so nothing is committed
and no service's group notices. The end offsets are measured once at the start; events
published meanwhile are left for the next replay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.messages.envelope import Envelope, PoisonMessage, decode
from shared.messaging.broker import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)


async def replay(
    bootstrap: str, topic: str, on_event: Callable[[Envelope], None], *,
    timeout_s: float = 120.0, idle_s: float = 5.0, fetch_max_wait_ms: int = 50,
) -> int:
    """Hand `on_event` every decodable event of `topic` up to its end offsets at the start; return how many.

    Each partition's events come in order (a ticket's events share a partition).

    Stops early, with a warning, when nothing arrives for `idle_s` (an end offset the broker
    over-reports); undecodable records (they are in the DLQ story already) are skipped.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms, max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
        client_id="escalier-replay",
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout_s):
            while not (partitions := consumer.partitions_for_topic(topic)):
                await consumer.topics()  # refreshes metadata
                await asyncio.sleep(0.1)
            parts = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(parts)
            ends = {tp: end for tp, end in (await consumer.end_offsets(parts)).items() if end > 0}
            await consumer.seek_to_beginning(*parts)
            # A partition whose retained records were all deleted starts at its end already.
            remaining, count = {tp for tp in ends if await consumer.position(tp) < ends[tp]}, 0
            loop = asyncio.get_running_loop()
            last_seen = loop.time()
            while remaining:
                batches = await consumer.getmany(*remaining, timeout_ms=200, max_records=5000)
                if batches:
                    last_seen = loop.time()
                elif loop.time() - last_seen > idle_s:
                    log.warning("replay of %s stopped short of %s: nothing more came", topic, sorted(remaining))
                    break
                for tp, records in batches.items():
                    for record in records:
                        if record.offset >= ends[tp]:
                            break
                        try:
                            event = decode(record.headers, record.value, record.key)
                        except PoisonMessage:
                            continue
                        on_event(event)
                        count += 1
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
    return count
