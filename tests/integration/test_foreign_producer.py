"""Events that another producer wrote, with the CloudEvents SDK and librdkafka, on the real broker.

The SDK's Kafka binding (binary mode) puts the attributes in `ce_*` headers and takes the key from
the `partitionkey` extension; `ce_subject` is optional in CloudEvents and it does not set one.
Our consumer runner takes the key as the subject then.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from cloudevents.core.bindings.kafka import to_binary
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from confluent_kafka import Producer

from shared.config import ServiceSettings
from shared.db import Database
from shared.messages.envelope import Envelope
from shared.messaging.broker import ensure_topics, make_producer
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.inbox import InboxEntry
from shared.messaging.outbox import OutboxMessage
from shared.topics import dlq
from tests.helpers import eventually
from tests.integration.test_messaging import read_all


@pytest.fixture
async def topic(kafka_bootstrap) -> str:
    name = f"test.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [name, dlq(name)], partitions=3)
    return name


def sdk_comment(ticket_id: str | None, body: str) -> CloudEvent:
    """A ticket.commented event as the SDK builds it: no subject; the ticket id, if any, as partition key."""
    attributes = {"type": "ticket.commented", "source": "/helpdesk-bridge", "datacontenttype": "application/json"}
    if ticket_id is not None:
        attributes["partitionkey"] = ticket_id
    return CloudEvent(attributes, {"ticket_id": ticket_id or "T-unknown", "tier": 1, "author": "bridge", "body": body})


def publish_with_librdkafka(bootstrap: str, topic: str, events: list[CloudEvent]) -> None:
    # murmur2_random: the partitioner of the Java client and aiokafka, so a ticket's records from
    # either producer share a partition (librdkafka's default, consistent_random, hashes otherwise).
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "acks": "all"})
    failures = []
    for event in events:
        message = to_binary(event, JSONFormat())
        assert "ce_subject" not in message.headers
        producer.produce(topic, key=message.key, value=message.value, headers=list(message.headers.items()),
                         on_delivery=lambda err, _msg: failures.append(err) if err else None)
    assert producer.flush(30) == 0 and not failures, failures


async def test_a_cloudevents_sdk_record_without_ce_subject_is_accepted_with_its_key_as_subject(
    kafka_bootstrap, topic, tmp_path
):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")
    await db.create_tables([OutboxMessage, InboxEntry])
    settings = ServiceSettings(service_name=f"test-{uuid.uuid4().hex[:8]}", kafka_bootstrap_servers=kafka_bootstrap,
                               consumer_max_retries=1)
    handled: list[Envelope] = []

    async def record(session, event: Envelope) -> None:
        handled.append(event)

    keyed, keyless = sdk_comment("T-ext-1", "from the bridge"), sdk_comment(None, "names no ticket")
    await asyncio.to_thread(publish_with_librdkafka, kafka_bootstrap, topic, [keyless, keyed])

    producer = make_producer(settings)
    await producer.start()
    runner = ConsumerRunner(settings=settings, db=db, producer=producer, subscriptions={topic: {"ticket.commented": record}})
    await runner.start()
    task = asyncio.create_task(runner.run())
    try:
        await eventually(lambda: _settled(handled, runner), timeout_s=30)
    finally:
        runner.stop()
        await asyncio.wait_for(task, 10)
        await runner.close()
        await producer.stop()
        await db.dispose()

    (event,) = {e.id: e for e in handled}.values()
    assert (event.id, event.subject, event.source) == (keyed.get_id(), "T-ext-1", "/helpdesk-bridge")
    assert event.data.body == "from the bridge" and event.time == keyed.get_time()
    # With neither a subject nor a key, the record names no ticket: that one is dead-lettered.
    (dead,) = await read_all(kafka_bootstrap, dlq(topic), 1)
    assert dict(dead.headers)["ce_id"].decode() == keyless.get_id()
    assert "ce_subject" in dict(dead.headers)["dlq_reason"].decode()


async def _settled(handled: list, runner: ConsumerRunner) -> bool:
    return bool(handled) and runner.dead_lettered == 1
