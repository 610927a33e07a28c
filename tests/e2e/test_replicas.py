"""Two replicas of triage and of tier 1, in one consumer group each, split the work and lose or duplicate nothing.

A system of its own on a broker of its own (the session system's services share
these consumer groups on the session broker). Each pair of replicas shares its
service's database, as replicas do in production; both tier 1 replicas run the SLA
alarm loop over that database.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from escalier_cli.broker import EmbeddedBroker
from escalier_cli.system import ServiceProcess, System
from shared.messages.envelope import decode
from shared.messaging.broker import ensure_topics
from shared.topics import TICKETS_EVENTS, TICKETS_SUBMITTED, tier_topic
from tests.conftest import POSTGRES_ADMIN_DSN, _admin, free_port
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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def replicated(request, tmp_path_factory, postgres_available) -> Iterator[System]:
    """intake, two triage and two tier 1 processes (`triage`, `triage-b`, `tier1`, `tier1-b`).

    Each pair shares a SQLite file, or a PostgreSQL database where one answers (where row
    locks, not a single writer, keep two replicas from acting on one ticket at once)."""
    databases: dict[str, str] = {}  # service -> its PostgreSQL database
    database_env: dict[str, str] = {}
    if request.param == "postgresql":
        if not postgres_available:
            pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
        base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        for name in REPLICATED:
            databases[name] = f"escalier_replicas_{uuid.uuid4().hex[:8]}_{name}"
            asyncio.run(_admin(f'CREATE DATABASE "{databases[name]}"'))
            database_env[f"ESCALIER_{name.upper()}_DATABASE_URL"] = f"{base}/{databases[name]}"
    data = tmp_path_factory.mktemp("replicas")
    try:
        yield from _replicated_system(data, database_env)
    finally:
        for database in databases.values():
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def _replicated_system(data: Path, database_env: dict[str, str]) -> Iterator[System]:
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
                # Organization `fastlane`: SLA clocks of seconds (tests/data/contracts.yaml).
                "ESCALIER_SLA_CONTRACTS_FILE": str(Path(__file__).parent.parent / "data" / "contracts.yaml"),
                **database_env,
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


async def test_two_tier1_replicas_fire_each_sla_alarm_once_and_escalate_each_ticket_once(replicated):
    # Both replicas' alarm loops see every due ticket in the shared database; each alarm is
    # fired under the ticket's row lock (SQLite: the single writer) after reading it again.
    system = replicated
    intake = system.services["intake"].url
    async with httpx.AsyncClient(timeout=30, headers=OPS) as http:
        async def submit(i: int) -> str:
            email = f"sla{i}@fastlane.example"
            body = {**SUBMISSION, "organization": "fastlane",
                    "requester": {"email": email, "name": f"User {i}", "language": "en"}}
            response = await http.post(f"{intake}/tickets", json=body, headers=requester_headers(email, "fastlane"))
            assert response.status_code == 202, response.text
            return response.json()["id"]

        submitted = set(await asyncio.gather(*(submit(i) for i in range(40))))

    async def tier1_alarms() -> dict[str, list] | None:
        facts: dict[str, list] = {ticket: [] for ticket in submitted}
        for record in await read_topic(system.bootstrap, TICKETS_EVENTS, at_least=1):
            event = decode(record.headers, record.value)
            if event.subject not in facts:
                continue
            if event.type.startswith("ticket.sla_") and event.data.tier == 1:
                reminder = getattr(event.data, "reminder", 0)  # breaches only
                facts[event.subject].append((event.type, event.data.clock, reminder))
            elif event.type == "ticket.escalated":
                facts[event.subject].append((event.type, event.data.from_tier, event.data.to_tier))
        escalated = all(any(f[0] == "ticket.escalated" for f in fs) for fs in facts.values())
        return facts if escalated else None

    facts = await eventually(tier1_alarms, timeout_s=90, interval_s=1)
    for ticket, fired in facts.items():
        repeated = [fact for fact, n in Counter(fired).items() if n > 1]
        assert not repeated, (ticket, repeated)
        assert ("ticket.escalated", 1, 2) in fired, (ticket, fired)
        assert any(fact[0] == "ticket.sla_breached" for fact in fired), (ticket, fired)

    # What the two alarm loops fired between them is what the log holds (only these tickets' clocks ran out).
    on_the_log = Counter(fact[0] for fired in facts.values() for fact in fired)
    async with httpx.AsyncClient(timeout=30, headers=OPS) as http:
        by_replica = {name: await alarms_fired(http, system.services[name].url) for name in ("tier1", "tier1-b")}
    assert sum(by_replica.values(), Counter()) == on_the_log, by_replica


async def alarms_fired(http: httpx.AsyncClient, url: str) -> Counter:
    """Event type -> how many this tier 1 process's alarm loop fired."""
    text = (await http.get(f"{url}/metrics")).text
    return Counter({
        m.group(1): int(float(m.group(2)))
        for m in re.finditer(r'^escalier_sla_alarms_fired_total{tier="1",type="([^"]+)"} (\S+)$', text, re.M)
    })
