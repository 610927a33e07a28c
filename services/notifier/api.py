"""Notifier's HTTP API: live streams (SSE) and subscriptions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from shared.auth import Principal
from shared.db import INT64_MAX
from shared.errors import NotFound

from services.notifier import handlers, subscriptions
from services.notifier.permissions import PERMISSIONS, check_subscriber, scope_of
from services.notifier.schemas import SubscriptionCreate, SubscriptionCreated, SubscriptionView
from services.notifier.stream import Streams

router = APIRouter(tags=["notifications"])

# A listener that stops reading is dropped rather than holding its stream open forever.
SEND_TIMEOUT_S = 30.0
# On server shutdown a stream is told to end, so it closes cleanly instead of being cut.
SHUTDOWN_GRACE_S = 2.0
_SSE = {200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}}

LastEventIdHeader = Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=INT64_MAX)]
LastEventIdQuery = Annotated[int | None, Query(ge=0, le=INT64_MAX, description="resume point when the header cannot be set")]
Subscriber = Annotated[Principal, PERMISSIONS.require("manage subscriptions")]


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


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated, tags=["subscriptions"])
async def create_subscription(body: SubscriptionCreate, request: Request, response: Response, principal: Subscriber):
    """Subscribe a public URL to an organization's requester-visible events; calls are signed with `secret`."""
    check_subscriber(principal, body.organization)
    created = await subscriptions.create(
        request.app.state.db,
        url=str(body.url),
        organization=body.organization,
        events=body.events,
        secret=body.secret,
        description=body.description,
        policy=request.app.state.target_policy,
    )
    response.headers["Location"] = f"/subscriptions/{created.id}"
    return SubscriptionCreated.model_validate(created, from_attributes=True)


@router.get("/subscriptions", response_model=list[SubscriptionView], tags=["subscriptions"])
async def list_subscriptions(
    request: Request, principal: Subscriber, organization: Annotated[str | None, Query(max_length=100)] = None
):
    """The subscriptions the caller may see, of one organization or all; secrets are not shown."""
    scope = scope_of(principal).narrowed_to(organization)
    rows = await subscriptions.list_for(request.app.state.db, organizations=scope.organizations)
    return [SubscriptionView.model_validate(r, from_attributes=True) for r in rows]


@router.delete("/subscriptions/{subscription_id}", status_code=204, tags=["subscriptions"])
async def delete_subscription(subscription_id: str, request: Request, principal: Subscriber) -> Response:
    """Stop a subscription; its pending deliveries are cancelled."""
    organizations = scope_of(principal).organizations
    if not await subscriptions.delete(request.app.state.db, subscription_id=subscription_id, organizations=organizations):
        raise NotFound(f"subscription {subscription_id} not found")
    return Response(status_code=204)


def _sse(events: AsyncIterator[ServerSentEvent], stop: anyio.Event) -> EventSourceResponse:
    return EventSourceResponse(
        events, send_timeout=SEND_TIMEOUT_S, shutdown_event=stop, shutdown_grace_period=SHUTDOWN_GRACE_S
    )


def _streams(request: Request) -> Streams:
    return request.app.state.streams


def _first_of(*candidates: int | None, default: int) -> int:
    # The header wins: a browser's EventSource sends it on reconnect, past the URL's initial value.
    return next((c for c in candidates if c is not None), default)
