"""Trace context, JSON log lines and the tiers' SLA gauge arithmetic: pure logic, no I/O."""

from __future__ import annotations

import logging
import sys

import orjson

from shared import tracing
from shared.logs import JsonFormatter
from services.tiers.work.metrics import clock_states

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_valid_traceparent_is_continued_with_a_new_span():
    with tracing.scope(PARENT, ticket_id="T-1") as ids:
        assert ids["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert ids["parent_span_id"] == "00f067aa0ba902b7"
        assert ids["span_id"] != "00f067aa0ba902b7" and len(ids["span_id"]) == 16
        assert tracing.outgoing() == f"00-{ids['trace_id']}-{ids['span_id']}-01"
    assert tracing.fields() == {}


def test_a_malformed_or_all_zero_traceparent_starts_a_new_trace():
    for bad in ("garbage", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "01-xyz", None, b"\xff"):
        assert tracing.parse(bad) is None
        with tracing.scope(bad) as ids:
            assert len(ids["trace_id"]) == 32 and "parent_span_id" not in ids


def test_ids_learnt_inside_a_scope_are_kept_and_never_overwritten():
    with tracing.scope(None, ticket_id="T-1") as ids:
        tracing.annotate(ticket_id="T-2", event_id="E-1", other=None)
        assert (ids["ticket_id"], ids["event_id"]) == ("T-1", "E-1") and "other" not in ids
    tracing.annotate(ticket_id="outside")  # no scope: nothing to annotate, no error
    assert tracing.fields() == {}


def test_outside_any_scope_a_message_starts_its_own_trace():
    assert tracing.parse(tracing.outgoing()) is not None


def test_the_traceparent_of_kafka_headers_is_found():
    assert tracing.header_value([("ce_id", b"x"), ("traceparent", PARENT.encode())]) == PARENT.encode()
    assert tracing.header_value(None) is None


def test_a_log_line_is_one_json_object_with_the_scope_ids_extra_fields_and_the_exception():
    formatter = JsonFormatter("tier1")
    with tracing.scope(PARENT, ticket_id="T-9", event_id="E-9"):
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("once",), exc_info=True)
            record.exc_info = sys.exc_info()
        record.http_status = 500
        line = orjson.loads(formatter.format(record))
    assert line["message"] == "failed once" and line["service"] == "tier1" and line["level"] == "ERROR"
    assert (line["trace_id"], line["ticket_id"], line["event_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "T-9", "E-9")
    assert line["http_status"] == 500 and "ValueError: boom" in line["exception"]


def test_clock_states_count_breached_apart_from_at_risk_and_ignore_stopped_clocks():
    running = {"target_s": 10, "running_since": "2026-01-01T00:00:00Z"}
    slas = [
        {"clocks": {"first_response": {**running, "warned": True, "breached": True},
                    "resolution": {**running, "warned": True}}, "budget": {**running}},
        {"clocks": {"first_response": {**running, "warned": True, "stopped_at": "2026-01-01T00:01:00Z"},
                    "resolution": None}, "budget": {**running, "warned": True}},
    ]
    assert clock_states(slas) == {
        ("first_response", "breached"): 1, ("resolution", "at_risk"): 1, ("tier_budget", "at_risk"): 1,
    }


def test_spans_are_opentelemetry_spans_parented_across_a_message():
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exported = InMemorySpanExporter()
    tracing.configure("test-service", SimpleSpanProcessor(exported))
    try:
        with tracing.scope(PARENT, name="POST /tickets") as request:
            header = tracing.outgoing()  # what the request stages on the bus
        with tracing.scope(header, name="handle ticket.submitted", ticket_id="T-1") as handled:
            assert handled["trace_id"] == request["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    finally:
        tracing.configure("escalier")
    first, second = exported.get_finished_spans()
    assert (first.name, second.name) == ("POST /tickets", "handle ticket.submitted")
    assert first.resource.attributes["service.name"] == "test-service"
    assert f"{first.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert second.parent.span_id == first.context.span_id
    assert second.attributes["escalier.ticket_id"] == "T-1"
