"""Two replicas of triage and of tier 1, in one consumer group each, split the work and lose or duplicate nothing.

A system of its own on a broker of its own (the session system's services share
these consumer groups on the session broker). Each pair of replicas shares its
service's database, as replicas do in production.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from escalier_cli.broker import EmbeddedBroker
from escalier_cli.system import ServiceProcess, System
from shared.messaging.broker import ensure_topics
from shared.topics import TICKETS_SUBMITTED, tier_topic
from tests.conftest import free_port
from tests.helpers import OPS, TEST_JWT_SECRET, eventually, requester_headers

pytestmark = pytest.mark.e2e

TICKETS = 300
REPLICATED = ("triage", "tier1")

SUBMISSION = {
    "title": "I forgot my password",
    "description": "Cannot log in to my laptop since this morning, password rejected.",
    "organization": "acme",
    "impact": "medium",
    "urgency": "high",
}


@pytest.fixture(scope="module")
def replicated(tmp_path_factory) -> Iterator[System]:
    """intake, two triage and two tier 1 processes (`triage`, `triage-b`, `tier1`, `tier1-b`)."""
    data = tmp_path_factory.mktemp("replicas")
    with EmbeddedBroker(free_port(), log_file=data / "tansu.log") as broker:
        asyncio.run(ensure_topics(broker.bootstrap, partitions=6))
        system = System(
            bootstrap=broker.bootstrap,
            data_dir=data,
            ports={"intake": free_port(), "triage": free_port(), "tier1": free_port()},
            extra_env={
                "ESCALIER_TOPIC_PARTITIONS": "6",
                "ESCALIER_ENV": "test",
                "ESCALIER_JWT_SECRET": TEST_JWT_SECRET,
                "ESCALIER_INTAKE_RATE_PER_REQUESTER_PER_MINUTE": "60000",
                "ESCALIER_INTAKE_RATE_PER_ORGANIZATION_PER_MINUTE": "60000",
                "ESCALIER_INTAKE_BURST_PER_ORGANIZATION": "5000",
                "ESCALIER_TRIAGE_KB_STARTER": "false",
            },
        )
        for name in REPLICATED:  # a second process of the service: its own port, the same database
            first = system.services[name]
            port = free_port()
            env = {**first.env, f"ESCALIER_{name.upper()}_PORT": str(port)}
            system.services[f"{name}-b"] = ServiceProcess(name, port, env, data / "logs" / f"{name}-b.log")
        system.start()
        try:
            # Ready means every member holds partitions: the groups have split them.
            system.wait_ready(timeout_s=120)
            yield system
        finally:
            system.stop()


async def consumed(http: httpx.AsyncClient, url: str, topic: str) -> tuple[float, set[str]]:
    """How many events of `topic` one process consumed, and the partitions it reported lag for."""
    text = (await http.get(f"{url}/metrics")).text
    count = sum(
        float(m.group(1))
        for m in re.finditer(rf'^escalier_events_consumed_total{{topic="{re.escape(topic)}",[^}}]*}} (\S+)$', text, re.M)
    )
    partitions = set(re.findall(rf'^escalier_consumer_lag{{partition="(\d+)",topic="{re.escape(topic)}"}}', text, re.M))
    return count, partitions


async def read_topic(bootstrap: str, topic: str, at_least: int) -> list:
    """Every record of `topic`, read to each partition's high watermark once `at_least` are in."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or range(6))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list = []

        async with asyncio.timeout(60):
            while True:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
                if len(records) >= at_least and await _at_high_watermarks(consumer, partitions):
                    return records
    finally:
        await consumer.stop()


async def _at_high_watermarks(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    for tp in partitions:
        highwater = consumer.highwater(tp)
        if highwater is None or await consumer.position(tp) < highwater:
            return False
    return True


async def test_two_replicas_of_triage_and_tier1_split_the_partitions_and_queue_every_ticket_once(replicated):
    system = replicated
    intake = system.services["intake"].url
    async with httpx.AsyncClient(timeout=30, headers=OPS) as http:
        limit = asyncio.Semaphore(16)

        async def submit(i: int) -> str:
            email = f"user{i % 40}@acme.example"
            body = {**SUBMISSION, "requester": {"email": email, "name": f"User {i}", "language": "en"}}
            async with limit:
                response = await http.post(f"{intake}/tickets", json=body, headers=requester_headers(email, "acme"))
            assert response.status_code == 202, response.text
            return response.json()["id"]

        submitted = set(await asyncio.gather(*(submit(i) for i in range(TICKETS))))
        assert len(submitted) == TICKETS

        async def queue_at_tier1() -> list[str]:
            ids: list[str] = []
            while True:
                page = (await http.get(f"{system.services['tier1'].url}/queue",
                                       params={"limit": 200, "offset": len(ids)})).json()
                ids += [item["id"] for item in page["items"]]
                if len(ids) >= page["total"] or not page["items"]:
                    return ids

        async def all_queued() -> list[str] | None:
            ids = await queue_at_tier1()
            return ids if len(set(ids)) >= TICKETS else None

        queued = await eventually(all_queued, timeout_s=120, interval_s=0.5)
        # Lost nothing, queued nothing twice, and nothing but these.
        assert sorted(queued) == sorted(submitted)

        # Triage decided once per ticket: one routing record per ticket on tier 1's topic, no resend.
        routed = await read_topic(system.bootstrap, tier_topic(1), at_least=TICKETS)
        per_ticket = Counter(record.key.decode() for record in routed)
        assert set(per_ticket) == submitted
        assert max(per_ticket.values()) == 1

        # Each replica had its share: both consumed, from disjoint partitions, every event at least once.
        for name, topic in (("triage", TICKETS_SUBMITTED), ("tier1", tier_topic(1))):
            (count_a, parts_a), (count_b, parts_b) = [
                await consumed(http, system.services[n].url, topic) for n in (name, f"{name}-b")
            ]
            assert count_a > 0 and count_b > 0, (name, count_a, count_b)
            assert count_a + count_b >= TICKETS
            assert parts_a and parts_b and not parts_a & parts_b, (name, parts_a, parts_b)
