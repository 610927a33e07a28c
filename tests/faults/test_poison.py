"""Poison on every topic, and the same events delivered many times, under load; then `escalier verify`."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer

from escalier_cli.verify import read_topics
from shared.messaging.broker import MAX_MESSAGE_BYTES
from shared.topics import KB_ARTICLES, SOURCE_TOPICS, TICKETS_EVENTS, TICKETS_SUBMITTED, TIER_TOPICS, dlq
from tests.faults.harness import FULL, Agents, Load
from tests.helpers import eventually

PARTITIONS = 6
LOAD_S = 30 if FULL else 5
HUGE_BYTES = 2 * 1024 * 1024  # twice Kafka's default message limit

# Who consumes each topic (services' subscribers.py), and a type every one of them handles there:
# each group dead-letters a poison record of that type, and one of an unknown type. (A known type
# a group does not handle is skipped by its header, unread.)
GROUPS = {
    TICKETS_SUBMITTED: {"triage"},
    TICKETS_EVENTS: {"intake", "triage", "notifier", "tier1", "tier2", "tier3"},
    KB_ARTICLES: {"triage"},
    **{topic: {f"tier{n}"} for n, topic in TIER_TOPICS.items()},
}
HANDLED_BY_ALL = {
    TICKETS_SUBMITTED: "ticket.submitted",
    TICKETS_EVENTS: "ticket.resolved",
    KB_ARTICLES: "kb.article_published",
    **{topic: "ticket.routed" for topic in TIER_TOPICS.values()},
}


def _headers(event_type: str) -> list[tuple[str, bytes]]:
    subject = f"poison-{uuid.uuid4()}"
    return [
        ("ce_id", str(uuid.uuid4()).encode()), ("ce_source", b"/faults"), ("ce_type", event_type.encode()),
        ("ce_specversion", b"1.0"), ("ce_time", datetime.now(UTC).isoformat().encode()),
        ("ce_subject", subject.encode()), ("content-type", b"application/json"),
    ]


def poisons(topic: str) -> list[tuple[str, str, bytes]]:
    """(kind, event type, value) of the poison sent to every partition of `topic`."""
    valid_type = HANDLED_BY_ALL[topic]
    return [
        ("not json", valid_type, b"\xff\xfe this is not JSON {"),
        ("unknown type", "ticket.teleported", b"{}"),
        ("breaks its schema", valid_type, orjson.dumps({"ticket_id": 42, "article_id": None})),
    ]


async def test_poison_on_every_topic_lands_in_its_dlq_with_the_reason_and_the_partitions_move_on(faulty):
    producer = AIOKafkaProducer(bootstrap_servers=faulty.bootstrap, max_request_size=MAX_MESSAGE_BYTES)
    await producer.start()
    sent: list[tuple[str, int, int, str]] = []  # topic, partition, offset, kind
    try:
        for topic in SOURCE_TOPICS:
            for partition in range(PARTITIONS):
                huge = [("huge", HANDLED_BY_ALL[topic], b"x" * HUGE_BYTES)] if partition == 0 else []
                batch = poisons(topic) + huge
                for kind, event_type, value in batch:
                    meta = await producer.send_and_wait(
                        topic, value=value, key=b"poison", headers=_headers(event_type), partition=partition
                    )
                    sent.append((topic, partition, meta.offset, kind))
    finally:
        await producer.stop()
    # Valid traffic after the poison, on every partition: it flows only if each partition moved on.
    load, agents = Load(faulty.url("intake")).start(), Agents(faulty).start()
    await asyncio.sleep(LOAD_S)
    await load.stop()
    await agents.stop()

    expected = {(t, p, o, f"escalier-{g}") for t, p, o, _ in sent for g in GROUPS[t]}

    async def all_dead_lettered():
        records = await read_topics(faulty.bootstrap, [dlq(t) for t in SOURCE_TOPICS])
        seen = {}
        for topic in SOURCE_TOPICS:
            for r in records[dlq(topic)]:
                h = {k: v.decode() for k, v in r.headers}
                seen[(h["dlq_source_topic"], int(h["dlq_source_partition"]), int(h["dlq_source_offset"]),
                      h["dlq_consumer_group"])] = h["dlq_reason"]
        missing = expected - seen.keys()
        return seen if not missing else None

    seen = await eventually(all_dead_lettered, timeout_s=90, interval_s=1)
    reasons = {kind: {seen[(t, p, o, g)] for (t, p, o, g) in expected if (t, p, o) == (t2, p2, o2)}
               for t2, p2, o2, kind in sent}
    assert all("not JSON" in r or "does not match" in r or "unknown event type" in r for rs in reasons.values() for r in rs)
    assert any("unknown event type 'ticket.teleported'" in r for r in reasons["unknown type"])
    await faulty.settle_and_verify(load)
    print(f"poison: {len(sent)} records on {len(SOURCE_TOPICS)} topics, {len(expected)} dead letters expected and found; "
          f"{len(load.accepted)} tickets accepted after it")


async def test_the_same_events_delivered_many_times_are_applied_once(faulty):
    load, agents = Load(faulty.url("intake")).start(), Agents(faulty).start()
    await asyncio.sleep(LOAD_S)
    await load.stop()
    await agents.stop()
    topics = [TICKETS_SUBMITTED, TICKETS_EVENTS, *TIER_TOPICS.values()]
    records = await read_topics(faulty.bootstrap, topics)
    producer = AIOKafkaProducer(bootstrap_servers=faulty.bootstrap, max_request_size=MAX_MESSAGE_BYTES)
    await producer.start()
    replayed = 0
    ours = {ticket_id.encode() for ticket_id in load.accepted.values()}  # this test's tickets, every fact of them
    try:
        for topic in topics:
            for record in records[topic]:
                if record.key not in ours:
                    continue
                for _ in range(3):
                    await producer.send(topic, value=record.value, key=record.key, headers=list(record.headers),
                                        partition=record.partition)
                    replayed += 1
        await producer.flush()
    finally:
        await producer.stop()
    await faulty.settle_and_verify(load)
    print(f"duplicates: {replayed} records delivered again (3 times each), {len(load.accepted)} tickets accepted")
