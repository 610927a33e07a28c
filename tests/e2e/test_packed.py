"""The six services packed into two processes (`escalier up --processes 2`): the same system, fewer processes.

A system of its own on a broker of its own (the session system's services share these consumer
groups on the session broker). Each service keeps its own port, database, consumer group and
figures; a ticket goes from submission to its tier's queue as it does with one process a service.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from escalier_cli.broker import EmbeddedBroker
from escalier_cli.system import SERVICES, PackedService, System
from shared.messaging.broker import ensure_topics
from tests.conftest import free_port
from tests.e2e.test_ticket_journey import SUBMISSION
from tests.helpers import OPS, TEST_JWT_SECRET, eventually, requester_headers

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> Iterator[System]:
    data = tmp_path_factory.mktemp("packed")
    with EmbeddedBroker(free_port(), log_file=data / "tansu.log") as broker:
        asyncio.run(ensure_topics(broker.bootstrap, partitions=6))
        system = System(
            bootstrap=broker.bootstrap,
            data_dir=data,
            ports={name: free_port() for name in SERVICES},
            extra_env={
                "ESCALIER_TOPIC_PARTITIONS": "6",
                "ESCALIER_ENV": "test",
                "ESCALIER_JWT_SECRET": TEST_JWT_SECRET,
                "ESCALIER_TRIAGE_KB_STARTER": "false",
                "ESCALIER_SLA_CONTRACTS_FILE": str(Path(__file__).parent.parent / "data" / "contracts.yaml"),
            },
            processes=2,
        )
        system.start()
        try:
            system.wait_ready(timeout_s=120)
            yield system
        finally:
            system.stop()


def families(text: str) -> dict[str, dict[tuple, float]]:
    return {
        family.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
        for family in text_string_to_metric_families(text)
    }


def consumed(scraped: dict, topic: str) -> float:
    return sum(v for (name, labels), v in scraped.get("escalier_events_consumed", {}).items()
               if name == "escalier_events_consumed_total" and dict(labels)["topic"] == topic)


async def test_two_processes_serve_the_six_services_and_a_ticket_reaches_tier_1(packed):
    hosts = packed.hosts()
    assert sorted(len(h.packed) for h in hosts) == [2, 4]
    assert len({svc.port for svc in packed.services.values()}) == 6
    assert all(isinstance(svc, PackedService) for svc in packed.services.values())

    async with httpx.AsyncClient(timeout=10, headers=OPS) as http:
        for name, svc in packed.services.items():
            assert (await http.get(f"{svc.url}/healthz")).json()["service"] == name
        headers = requester_headers(SUBMISSION["requester"]["email"], SUBMISSION["organization"])
        response = await http.post(f"{packed.services['intake'].url}/tickets", json=SUBMISSION, headers=headers)
        assert response.status_code == 202, response.text
        ticket_id = response.json()["id"]

        async def queued():
            items = (await http.get(f"{packed.services['tier1'].url}/queue")).json()["items"]
            return next((t for t in items if t["id"] == ticket_id and t["status"] == "queued"), None)

        await eventually(queued, timeout_s=30)

        async def routed_as_the_requester_sees_it():
            view = (await http.get(f"{packed.services['intake'].url}/tickets/{ticket_id}", headers=headers)).json()
            return view if view["tier"] == 1 else None

        await eventually(routed_as_the_requester_sees_it, timeout_s=30)

        # Each service's /metrics counts its own events only, though tiers and triage share a process.
        scraped = {name: families((await http.get(f"{svc.url}/metrics")).text) for name, svc in packed.services.items()}
    assert consumed(scraped["triage"], "tickets.submitted") >= 1
    assert consumed(scraped["tier1"], "tickets.tier1") >= 1
    assert consumed(scraped["tier1"], "tickets.submitted") == 0 and consumed(scraped["triage"], "tickets.tier1") == 0
    assert consumed(scraped["tier2"], "tickets.tier1") == 0
    # The process's own figures (process_*, the tiers' gauges) once a process, on its first service.
    serving_process = {name for name, s in scraped.items() if "process_cpu_seconds" in s}
    assert serving_process == {h.packed[0] for h in hosts}
    tier_gauges = [n for n, s in scraped.items() if "escalier_tier_queue_depth" in s]
    assert len(tier_gauges) == 1 and tier_gauges[0] in serving_process
    depth = scraped[tier_gauges[0]]["escalier_tier_queue_depth"]
    assert depth[("escalier_tier_queue_depth", (("status", "queued"), ("tier", "1")))] >= 1


async def test_each_line_of_a_packed_process_names_its_service(packed):
    host = packed.services["tier1"].host
    lines = [orjson.loads(line) for line in host.log_path.read_text().splitlines() if line.startswith("{")]
    named = {line["service"] for line in lines}
    assert set(host.packed) <= named <= {*host.packed, "+".join(host.packed)}
    started = [line for line in lines if line["message"].startswith("Uvicorn running on")]
    assert {(line["service"], line["message"].rsplit(":", 1)[1].split()[0]) for line in started} == {
        (name, str(packed.ports[name])) for name in host.packed
    }


def test_a_sigterm_stops_every_service_of_the_process_gracefully_and_the_supervisor_starts_them_again(packed):
    host = next(h for h in packed.hosts() if "intake" in h.packed)
    os.kill(host.process.pid, signal.SIGTERM)
    assert host.process.wait(30) == 0
    lines = host.log_path.read_text().splitlines()
    finished = [orjson.loads(line) for line in lines if "Finished server process" in line]
    assert {line["service"] for line in finished} == set(host.packed)
    assert packed.restart_crashed() == [host.label]
    packed.wait_ready(timeout_s=120)
