"""W3C trace context across HTTP and Kafka, and the ids every log line of a service carries.

OpenTelemetry: each request and each handled event is a span (the SDK's tracer provider),
continued from the request's or the record's `traceparent` header (https://www.w3.org/TR/trace-context/)
and propagated in a `traceparent` header on every record a service stages in its outbox.
Logs carry `trace_id`, `span_id`, `ticket_id` and `event_id`, so one ticket can be followed
across services by its trace id. Spans are exported only where configured
(`OTEL_EXPORTER_OTLP_ENDPOINT` with the optional `otlp` extra installed); otherwise they
live just long enough to name the trace.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared import packing

log = logging.getLogger(__name__)

HEADER = "traceparent"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_INVALID_TRACE, _INVALID_SPAN = "0" * 32, "0" * 16

# One mutable dict per request or handled event: ids learnt inside (a ticket id made by a
# handler) are seen by whatever logs after, in the same scope.
_fields: ContextVar[dict[str, str] | None] = ContextVar("escalier_log_fields", default=None)


def parse(value: str | bytes | None) -> tuple[str, str] | None:
    """(trace id, parent span id) of a `traceparent` value, or None when absent or malformed."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    match = _TRACEPARENT.match((value or "").strip().lower())
    if not match or match[1] == _INVALID_TRACE or match[2] == _INVALID_SPAN:
        return None
    return match[1], match[2]


def format_traceparent(trace_id: str, span_id: str) -> str:
    return f"00-{trace_id}-{span_id}-01"


def fields() -> dict[str, str]:
    """The ids of the current scope (empty outside any)."""
    return _fields.get() or {}


def annotate(**ids: str | None) -> None:
    """Add ids to the current scope, keeping those already known."""
    current = _fields.get()
    if current is not None:
        for name, value in ids.items():
            if value is not None:
                current.setdefault(name, value)


_propagator = TraceContextTextMapPropagator()
# With nothing to export to, spans are not recorded (ALWAYS_OFF): they still get their ids, so
# logs and the traceparent of what is staged are the same, at a third less of the cost.
_provider = TracerProvider(resource=Resource.create({"service.name": "escalier"}), sampler=ALWAYS_OFF)
_tracer = _provider.get_tracer("escalier")  # one for the process: making one per span showed in profiles
_recording = False  # whether spans are exported (configure()); if not, scope() takes a shorter way
# A packed process (shared.packing) configures one tracer per service, so each span's resource names its own.
_tracers: dict[str, trace.Tracer] = {}
_ids = RandomIdGenerator()


def configure(service: str, processor: SpanProcessor | None = None) -> None:
    """This process's tracer: spans named after `service`, exported by `processor` if given, else by
    OTLP over HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and the `otlp` extra is installed."""
    global _provider, _tracer, _recording
    if processor is None and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        processor = _otlp_processor()
    sampler = ALWAYS_ON if processor is not None else ALWAYS_OFF
    _provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
    if processor is not None:
        _provider.add_span_processor(processor)
    _tracer = _tracers[service] = _provider.get_tracer("escalier")
    _recording = processor is not None


def _otlp_processor() -> SpanProcessor | None:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the exporter is not installed: pip install 'escalier[otlp]'")
        return None
    return BatchSpanProcessor(OTLPSpanExporter())


@contextmanager
def scope(traceparent: str | bytes | None = None, name: str = "escalier", **ids: str | None) -> Iterator[dict[str, str]]:
    """A span `name` continuing `traceparent` (or a new trace), with `ids` on every log line inside."""
    parent = parse(traceparent)
    if not _recording:
        # Nothing records it: a span context with its ids is all a span would be, made directly
        # (the SDK's sampling, extraction and span object cost about 3 times as much, every event).
        trace_id = int(parent[0], 16) if parent else _ids.generate_trace_id()
        span: trace.Span = trace.NonRecordingSpan(trace.SpanContext(trace_id, _ids.generate_span_id(), is_remote=False))
        attached = otel_context.attach(trace.set_span_in_context(span))
        try:
            with _fields_of(span, parent, ids) as current:
                yield current
        finally:
            otel_context.detach(attached)
        return
    carrier = {HEADER: format_traceparent(*parent)} if parent else {}
    tracer = _tracers.get(packing.current() or "", _tracer)
    with tracer.start_as_current_span(name, context=_propagator.extract(carrier)) as span:
        with _fields_of(span, parent, ids) as current:
            for key, value in current.items():
                if key.endswith("_id") and key not in ("trace_id", "span_id"):
                    span.set_attribute(f"escalier.{key}", value)
            yield current


@contextmanager
def _fields_of(span: trace.Span, parent: tuple[str, str] | None, ids: dict) -> Iterator[dict[str, str]]:
    context = span.get_span_context()
    current = {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}
    if parent:
        current["parent_span_id"] = parent[1]
    current.update({k: v for k, v in ids.items() if v is not None})
    token = _fields.set(current)
    try:
        yield current
    finally:
        _fields.reset(token)


def header_value(headers: Iterable[tuple[str, bytes]] | None) -> bytes | None:
    """The `traceparent` of a Kafka record's headers."""
    return next((raw for name, raw in headers or () if name == HEADER), None)


def outgoing() -> str:
    """The `traceparent` for a message sent from here: the current span as parent, or a new trace."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        # Flagged sampled whether or not this process records: a service that exports records it.
        return format_traceparent(f"{context.trace_id:032x}", f"{context.span_id:016x}")
    with scope(name="message"):
        return outgoing()
