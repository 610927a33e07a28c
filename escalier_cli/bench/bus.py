"""Reference (b), the bare bus: aiokafka produce → consume, one hop, the services' client settings."""

from __future__ import annotations

import asyncio
import struct
import time
import uuid
from multiprocessing.connection import Connection

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.config import ServiceSettings
from shared.messaging.broker import ensure_topics, make_producer

_STAMP = struct.Struct("!Id")  # sequence number, send time


async def _consumer_on(topic: str, settings: ServiceSettings) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=settings.fetch_max_wait_ms, client_id="escalier-bench-bus",
    )
    await consumer.start()
    async with asyncio.timeout(30):
        while not (parts := consumer.partitions_for_topic(topic)):
            await consumer.topics()
            await asyncio.sleep(0.1)
    consumer.assign([TopicPartition(topic, p) for p in parts])
    await consumer.seek_to_beginning()
    return consumer


async def _produce(producer, topic: str, spec: dict, headers: list) -> None:
    pad = b"x" * max(0, spec["bytes"] - _STAMP.size)
    start = time.monotonic()
    for seq in range(spec["messages"]):
        delay = start + seq / spec["rate"] - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        # send() only queues the record (batched by linger_ms), as the services' outbox relays do.
        await producer.send(topic, _STAMP.pack(seq, time.time()) + pad, key=uuid.uuid4().bytes.hex().encode(), headers=headers)
    await producer.flush()


async def _consume(consumer: AIOKafkaConsumer, expected: int, latencies: list[float], timeout_s: float) -> None:
    seen: set[int] = set()
    deadline = time.monotonic() + timeout_s
    while len(seen) < expected and time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=200)
        now = time.time()
        for records in batches.values():
            for record in records:
                seq, sent = _STAMP.unpack_from(record.value)
                if seq not in seen:
                    seen.add(seq)
                    latencies.append((now - sent) * 1000)


async def bare_bus(spec: dict, conn: Connection) -> dict:
    """Send `messages` records of `bytes` bytes at `rate`/s through a fresh topic; each one's latency (ms)."""
    settings = ServiceSettings(kafka_bootstrap_servers=spec["bootstrap"], service_name="bench-bus")
    topic = f"bench.bus.{uuid.uuid4().hex[:8]}"
    await ensure_topics(spec["bootstrap"], [topic], partitions=spec["partitions"])
    producer, consumer = make_producer(settings), await _consumer_on(topic, settings)
    await producer.start()
    headers = [(name, bytes(value)) for name, value in spec["headers"]]
    latencies: list[float] = []
    try:
        timeout_s = spec["messages"] / spec["rate"] + 30
        await asyncio.gather(_produce(producer, topic, spec, headers), _consume(consumer, spec["messages"], latencies, timeout_s))
    finally:
        await producer.stop()
        await consumer.stop()
        await _delete_topic(spec["bootstrap"], topic)
    return {"topic": topic, "latencies_ms": latencies, "fetch_max_wait_ms": settings.fetch_max_wait_ms,
            "linger_ms": settings.linger_ms}


async def _delete_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    except Exception:  # a leftover empty topic on a memory broker costs nothing; the result stands
        pass
    finally:
        await admin.close()
