"""W3C trace context across HTTP and Kafka, and the ids every log line of a service carries.

No OpenTelemetry: a `traceparent` header (https://www.w3.org/TR/trace-context/) goes with
every record a service stages in its outbox, continued from the request or the event being
handled; logs carry `trace_id`, `span_id`, `ticket_id` and `event_id`, so one ticket can be
followed across services by its trace id.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

HEADER = "traceparent"
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_INVALID_TRACE, _INVALID_SPAN = "0" * 32, "0" * 16

# One mutable dict per request or handled event: ids learnt inside (a ticket id made by a
# handler) are seen by whatever logs after, in the same scope.
_fields: ContextVar[dict[str, str] | None] = ContextVar("escalier_log_fields", default=None)


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


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


@contextmanager
def scope(traceparent: str | bytes | None = None, **ids: str | None) -> Iterator[dict[str, str]]:
    """A span continuing `traceparent` (or a new trace), with `ids` on every log line inside."""
    parent = parse(traceparent)
    current = {"trace_id": parent[0] if parent else new_trace_id(), "span_id": new_span_id()}
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
    current = fields()
    if "trace_id" in current:
        return format_traceparent(current["trace_id"], current["span_id"])
    return format_traceparent(new_trace_id(), new_span_id())
