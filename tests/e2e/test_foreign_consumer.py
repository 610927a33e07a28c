"""A client that is not ours reads the audit trail: librdkafka (confluent-kafka) on `tickets.events`.

It sees what any Kafka client would: CloudEvents 1.0 in binary mode on every record (`ce_*`
headers, the subject equal to the key, a JSON value), each ticket's facts in order on one
partition, and from each service only what it declares it publishes (the AsyncAPI document's source). Against Tansu, librdkafka 2.16 needs nothing special (its ApiVersions handshake works;
Debian's older librdkafka in kcat fails it); partitions are assigned rather than joined as a group,
since Tansu holds a join for half the session timeout (45 s by librdkafka's default).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from datetime import datetime

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from escalier_cli.specs import service_app
from escalier_cli.system import SERVICES
from shared.messages.registry import EVENT_TYPES
from shared.topics import TICKETS_EVENTS
from tests.e2e.test_ticket_journey import agent, queued_at, submit

pytestmark = pytest.mark.e2e

# Facts every routed ticket has, in this order; and those of a ticket claimed then escalated at tier 1.
ROUTED = ["ticket.submitted", "ticket.triaged", "ticket.routed"]
ESCALATED = [*ROUTED, "ticket.assigned", "ticket.escalated"]


def read_with_librdkafka(bootstrap: str, until, timeout_s: float = 60.0) -> list:
    """Every record of tickets.events from the beginning, read until `until(records)` holds."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"outsider-{uuid.uuid4().hex[:8]}",  # required by the client; no group is joined
        "enable.auto.commit": False,
        "fetch.wait.max.ms": 100,
        "log_level": 3,  # errors only: Tansu closing idle connections is logged at level 6
    })
    try:
        partitions = consumer.list_topics(TICKETS_EVENTS, timeout=10).topics[TICKETS_EVENTS].partitions
        consumer.assign([TopicPartition(TICKETS_EVENTS, p, OFFSET_BEGINNING) for p in sorted(partitions)])
        records, deadline = [], time.monotonic() + timeout_s
        while not until(records):
            assert time.monotonic() < deadline, f"after {timeout_s}s, {len(records)} records and still waiting"
            for message in consumer.consume(num_messages=500, timeout=0.5):
                assert message.error() is None, message.error()
                records.append(message)
        return records
    finally:
        consumer.close()


def types_by_key(records) -> dict[bytes, list[str]]:
    """Each key's event types, in the order of its partition."""
    by_key = defaultdict(list)
    for message in sorted(records, key=lambda m: (m.partition(), m.offset())):
        by_key[message.key()].append(dict(message.headers())["ce_type"].decode())
    return by_key


def in_order(seen: list[str], expected: list[str]) -> bool:
    """`expected` occurs in `seen` in that order (other facts may come between)."""
    remaining = iter(seen)
    return all(kind in remaining for kind in expected)


def check_cloudevents_headers(message) -> None:
    headers = dict(message.headers() or [])
    assert len(headers) == len(message.headers()), "a header repeated"
    where = f"{message.topic()}[{message.partition()}]@{message.offset()}"
    uuid.UUID(headers["ce_id"].decode())
    assert headers["ce_source"].decode().removeprefix("/escalier/") in SERVICES, where
    assert headers["ce_type"].decode() in EVENT_TYPES, where
    assert headers["ce_specversion"] == b"1.0", where
    assert headers["ce_subject"] == message.key(), where
    assert headers["content-type"] == b"application/json", where
    datetime.fromisoformat(headers["ce_time"].decode())
    assert json.loads(message.value())["ticket_id"].encode() == message.key(), where


async def test_librdkafka_reads_every_record_as_a_cloudevent_and_each_ticket_s_facts_in_order(http, system):
    routed = [await submit(http, system, title=f"Printer {n} jams on every page") for n in range(3)]
    escalated = await submit(http, system, title="VPN drops every ten minutes")
    await queued_at(http, system, 1, escalated)
    assert (await agent(http, system, 1, escalated, "claim", agent="alice")).status_code == 200
    assert (await agent(http, system, 1, escalated, "escalate", agent="alice", reason="needs tier 2")).status_code == 200
    expected = {**{t.encode(): ROUTED for t in routed}, escalated.encode(): ESCALATED}

    def all_seen(records) -> bool:
        seen = types_by_key(records)
        return all(set(kinds) <= set(seen.get(key, ())) for key, kinds in expected.items())

    records = await asyncio.to_thread(read_with_librdkafka, system.bootstrap, all_seen)

    declared = {name: service_app(name).state.runtime.wiring for name in SERVICES}
    for message in records:  # every record of the stream, this test's tickets and the others'
        check_cloudevents_headers(message)
        headers = dict(message.headers())
        source, kind = headers["ce_source"].decode().removeprefix("/escalier/"), headers["ce_type"].decode()
        assert declared[source].sends(TICKETS_EVENTS, kind), f"{source} published {kind}, which it does not declare"
    partitions = defaultdict(set)
    for message in records:
        partitions[message.key()].add(message.partition())
    assert all(len(p) == 1 for p in partitions.values()), "a ticket's records on more than one partition"
    by_key = types_by_key(records)
    for key, kinds in expected.items():
        assert in_order(by_key[key], kinds), (key, by_key[key])
    for key, kinds in by_key.items():
        if "ticket.submitted" in kinds:
            assert kinds[0] == "ticket.submitted", (key, kinds)
