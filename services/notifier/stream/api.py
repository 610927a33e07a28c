"""The live streams over HTTP (SSE): one ticket's events, or every ticket the caller may see."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from shared.auth import Principal
from shared.db import INT64_MAX

from services.notifier.permissions import PERMISSIONS, scope_of
from services.notifier.stream import handlers
from services.notifier.stream.streams import Streams

router = APIRouter(tags=["notifications"])

# A listener that stops reading is dropped rather than holding its stream open forever.
SEND_TIMEOUT_S = 30.0
# On server shutdown a stream is told to end, so it closes cleanly instead of being cut.
SHUTDOWN_GRACE_S = 2.0
_SSE = {200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}}

LastEventIdHeader = Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=INT64_MAX)]
LastEventIdQuery = Annotated[
    int | None, Query(ge=0, le=INT64_MAX, description="resume point when the header cannot be set")
]


@router.get("/tickets/{ticket_id}/stream", response_class=EventSourceResponse, responses=_SSE)
async def ticket_stream(
    ticket_id: str,
    request: Request,
    principal: Annotated[Principal, PERMISSIONS.require("follow tickets")],
    header_id: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
):
    """A ticket's public events from the start (or after Last-Event-ID), then live."""
    await handlers.require_ticket(request.app.state.db, ticket_id=ticket_id, principal=principal)
    after = _first_of(header_id, last_event_id, default=0)
    stop = anyio.Event()
    return _sse(_streams(request).follow(after=after, stop=stop, ticket_id=ticket_id), stop)


@router.get("/stream", response_class=EventSourceResponse, responses=_SSE)
async def ops_stream(
    request: Request,
    principal: Annotated[Principal, PERMISSIONS.require("watch the event stream")],
    header_id: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
    organization: Annotated[str | None, Query(max_length=100)] = None,
    types: Annotated[list[str] | None, Query(alias="type", description="repeatable")] = None,
):
    """The public events of every ticket the caller may see, live from now (or after Last-Event-ID; 0 replays all)."""
    scope = scope_of(principal).narrowed_to(organization)
    latest = await handlers.latest_seq(request.app.state.db)
    after = _first_of(header_id, last_event_id, default=latest)
    stop = anyio.Event()
    events = _streams(request).follow(after=after, stop=stop, organizations=scope.organizations, types=types or ())
    return _sse(events, stop)


def _sse(events: AsyncIterator[ServerSentEvent], stop: anyio.Event) -> EventSourceResponse:
    return EventSourceResponse(
        events, send_timeout=SEND_TIMEOUT_S, shutdown_event=stop, shutdown_grace_period=SHUTDOWN_GRACE_S
    )


def _streams(request: Request) -> Streams:
    return request.app.state.streams


def _first_of(*candidates: int | None, default: int) -> int:
    # The header wins: a browser's EventSource sends it on reconnect, past the URL's initial value.
    return next((c for c in candidates if c is not None), default)
