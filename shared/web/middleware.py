"""The pure ASGI middlewares around every service's routes: body limit, request metrics, trace context."""

from __future__ import annotations

import logging
import time

from shared import tracing
from shared.messaging import metrics

log = logging.getLogger(__name__)


class BodyLimit:
    """Pure ASGI middleware: refuses request bodies over `max_bytes` with 413, streamed or not."""

    def __init__(self, app, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        seen = 0

        async def counted_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, counted_receive, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send) -> None:
        body = b'{"detail":"request body too large: at most %d bytes"}' % self.max_bytes
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class RequestMetrics:
    """Pure ASGI middleware: request durations by route template, method and status."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def send_and_watch(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            duration = time.perf_counter() - started
            metrics.child(metrics.HTTP_REQUESTS, scope["method"], path, str(status[0])).observe(duration)


_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class TraceContext:
    """Pure ASGI middleware: a span per request (continuing the caller's `traceparent`), one log line each.

    What the request stages in the outbox carries the trace on; the line names the ticket when known.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or ())
        started, status = time.perf_counter(), [500]

        async def send_and_watch(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        with tracing.scope(headers.get(tracing.HEADER.encode()), name=f"{scope['method']} {scope['path']}"):
            try:
                await self.app(scope, receive, send_and_watch)
            finally:
                if scope["path"] not in _QUIET_PATHS:
                    tracing.annotate(ticket_id=(scope.get("path_params") or {}).get("ticket_id"))
                    route = getattr(scope.get("route"), "path", None) or "unmatched"
                    log.info("%s %s %d", scope["method"], route, status[0], extra={
                        "http_status": status[0], "duration_ms": round((time.perf_counter() - started) * 1000, 2)})
