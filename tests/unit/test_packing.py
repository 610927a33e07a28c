"""Several services in one process (`escalier up --processes N`): how they are grouped, and what each keeps its own."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from escalier_cli.packed import ENTRY_POINTS
from escalier_cli.system import SERVICES, PackedService, ServiceProcess, System, pack
from shared import packing, tracing
from shared.logs import JsonFormatter
from shared.messaging import metrics


def test_two_processes_split_the_services_by_what_a_ticket_costs_them():
    assert pack(list(SERVICES), 2) == [["intake", "notifier"], ["triage", "tier1", "tier2", "tier3"]]


@pytest.mark.parametrize("processes", range(1, 8))
def test_every_service_is_packed_once_into_at_most_that_many_processes(processes):
    groups = pack(list(SERVICES), processes)
    assert len(groups) == min(processes, len(SERVICES))
    assert sorted(n for g in groups for n in g) == sorted(SERVICES) and all(groups)


def test_a_packed_system_runs_each_group_as_one_process_with_every_port_of_its_own(tmp_path):
    system = System(bootstrap="127.0.0.1:1", data_dir=tmp_path, processes=2)
    hosts = system.hosts()
    assert [h.label for h in hosts] == ["intake+notifier", "triage+tier1+tier2+tier3"]
    assert hosts[0].command()[1:] == ["-m", "escalier_cli.packed", "intake", "notifier"]
    assert hosts[1].env["ESCALIER_TIER3_PORT"] == "8004" and "ESCALIER_INTAKE_PORT" not in hosts[1].env
    assert system.urls() == {name: f"http://127.0.0.1:{port}" for name, port in SERVICES.items()}
    tier2 = system.services["tier2"]
    assert isinstance(tier2, PackedService) and tier2.host is hosts[1] and tier2.log_path == hosts[1].log_path


def test_six_processes_are_one_a_service_as_without_the_setting(tmp_path):
    system = System(bootstrap="127.0.0.1:1", data_dir=tmp_path, processes=6)
    assert all(isinstance(s, ServiceProcess) and not s.packed for s in system.services.values())
    assert [h.command()[2] for h in system.hosts()] == [f"services.{name}" for name in SERVICES]


def test_every_service_has_an_entry_point_to_be_packed():
    assert set(ENTRY_POINTS) == set(SERVICES)


def _consumed() -> dict:
    text = generate_latest(metrics.registry()).decode()
    return {tuple(sorted(s.labels.items())): s.value for f in text_string_to_metric_families(text)
            if f.name == "escalier_events_consumed" for s in f.samples if s.name.endswith("_total")}


def test_services_packed_together_count_their_events_apart_and_the_process_figures_once():
    with packing.serving("unit-a"):
        metrics.child(metrics.CONSUMED, "tickets.events", "ticket.routed").inc()
        metrics.OUTBOX_BACKLOG.set(3)
        metrics.serve_process_figures()
    with packing.serving("unit-b"):
        metrics.child(metrics.CONSUMED, "tickets.events", "ticket.routed").inc(2)
        metrics.OUTBOX_BACKLOG.set(7)
    with packing.serving("unit-a"):
        a = generate_latest(metrics.registry()).decode()
        assert _consumed() == {(("topic", "tickets.events"), ("type", "ticket.routed")): 1.0}
    with packing.serving("unit-b"):
        b = generate_latest(metrics.registry()).decode()
        assert _consumed() == {(("topic", "tickets.events"), ("type", "ticket.routed")): 2.0}
    assert "escalier_outbox_backlog 3.0" in a and "escalier_outbox_backlog 7.0" in b
    assert "process_cpu_seconds_total" in a and "process_cpu_seconds_total" not in b
    assert a.count("# HELP escalier_outbox_backlog ") == 1  # the default registry's own copy is left out
    assert "escalier_outbox_backlog 7.0" not in generate_latest().decode()  # outside any: the process's own


def test_a_log_line_names_the_packed_service_it_was_written_for():
    formatter = JsonFormatter("triage+tier1")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
    assert orjson.loads(formatter.format(record))["service"] == "triage+tier1"
    with packing.serving("tier1"):
        assert orjson.loads(formatter.format(record))["service"] == "tier1"


async def test_tasks_started_by_a_request_keep_its_service():
    seen = []

    async def app(scope, receive, send):
        await asyncio.create_task(asyncio.sleep(0))
        seen.append(await asyncio.create_task(_current()))

    await packing.scoped(app, "tier2")({"type": "lifespan"}, None, None)
    assert seen == ["tier2"] and packing.current() is None


async def _current():
    return packing.current()


def test_each_packed_service_names_its_own_spans():
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exported = InMemorySpanExporter()
    try:
        for name in ("unit-intake", "unit-triage"):
            tracing.configure(name, SimpleSpanProcessor(exported))
        for name in ("unit-intake", "unit-triage"):
            with packing.serving(name), tracing.scope(name="handle"):
                pass
    finally:
        tracing.configure("escalier")
    named = [s.resource.attributes["service.name"] for s in exported.get_finished_spans()]
    assert named == ["unit-intake", "unit-triage"]
