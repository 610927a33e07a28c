"""What every service runs besides its own rules: database, producer, outbox relay, consumer, health.

Built by each service's composition root (`create_app`), started and stopped by its lifespan.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import exc as sa_exc
from sqlmodel import SQLModel

from shared import tracing
from shared.asyncapi import document as asyncapi_document
from shared.auth import TokenVerifier
from shared.config import ServiceSettings
from shared.db import Database
from shared.errors import HTTP_STATUS, RateLimited
from shared.messaging.broker import TopicGuard, forbid_topic_auto_creation, make_producer, wait_for_broker
from shared.messaging import doorbell, metrics
from shared.messaging.consumer import ConsumerRunner, Subscriptions
from shared.messaging.lease import LeaseKeeper
from shared.messaging.outbox import OutboxRelay
from shared.migrations import upgrade
from shared.storage import storage_fault

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 10.0


class ServiceRuntime:
    """The plumbing of one service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        schema: str,
        subscriptions: Subscriptions | None = None,
        preload: Sequence[type[SQLModel]] = (),
    ) -> None:
        self.settings = settings
        self.verifier = TokenVerifier(settings)  # refuses a placeholder secret outside development
        self.db = Database(settings.effective_database_url)
        # Kafka clients need a running loop: start() builds them.
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.guard: TopicGuard | None = None
        self.schema = schema  # whose migrations (shared/migrations.py) this database follows
        self._subscriptions = subscriptions or {}
        self._preload = preload
        self.consumer: ConsumerRunner | None = None
        self._consumer_task: asyncio.Task | None = None
        self._connected = False
        self._tasks: list[asyncio.Task] = []
        self._gauges: list[Callable[[], Awaitable[None]]] = []

    def measure(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Register a coroutine that refreshes gauges needing a query; run before each scrape."""
        self._gauges.append(refresh)

    async def refresh_gauges(self, timeout_s: float = 2.0) -> None:
        """Run every registered refresh; a slow or failing one leaves its gauges as they were."""
        for refresh in self._gauges:
            try:
                await asyncio.wait_for(refresh(), timeout_s)
            except Exception:
                log.warning("could not refresh gauges with %s", getattr(refresh, "__name__", refresh), exc_info=True)

    def set_subscriptions(self, subscriptions: Subscriptions, *, preload: Sequence[type[SQLModel]] = ()) -> None:
        """Declare what the service consumes (before start), when handlers need the runtime's parts.

        `preload`: models whose rows, keyed by the subjects of a batch's events, its handlers
        look up (shared.messaging.preload): read in one query per batch.
        """
        self._subscriptions = subscriptions
        self._preload = preload

    def spawn(self, coro, name: str) -> asyncio.Task:
        """Run a background loop for the service's lifetime; a crash is logged, never silent."""
        task = asyncio.create_task(coro, name=name)
        task.add_done_callback(_log_crash)
        self._tasks.append(task)
        return task

    async def start(self) -> None:
        """Open the database, then connect to the bus in the background.

        The API answers as soon as the database is open: a submission accepted while the
        broker is unreachable waits in the outbox until the relay can publish it.
        """
        s = self.settings
        forbid_topic_auto_creation()
        await self.migrate()
        self.producer = make_producer(s)
        # Replicas share the database; the lease lets one relay at a time publish its outbox.
        lease = LeaseKeeper(self.db, name="outbox-relay", holder=f"{socket.gethostname()}:{s.port}")
        bell = doorbell.Bell(doorbell.folder(s.kafka_bootstrap_servers, s.wakeup_dir)) if s.consumer_wakeups else None
        self.relay = OutboxRelay(
            self.db, self.producer, poll_interval_s=s.outbox_poll_interval_s, retention_s=s.outbox_retention_s,
            lease=lease, bell=bell,
        )
        self.guard = TopicGuard(s, on_lost=self._broker_lost)
        self.measure(self._backlogs)  # at each scrape, not on a timer
        self.spawn(self._connect(), "connect")

    async def migrate(self) -> None:
        """Bring the database to the service's newest schema revision."""
        await upgrade(self.db, self.schema)

    async def _broker_lost(self) -> None:
        await self.relay.republish_retained()
        if self.consumer is not None:
            self.consumer.rewind()
        self.spawn(self._republish_again(), "republish-again")

    async def _republish_again(self) -> None:
        # Seen in the fault suite: every service republishing into freshly recreated topics at
        # once, Tansu's log shows `AlreadyExists` on produce while acknowledging records it then
        # never serves. A second pass once the partitions exist closes that hole; inboxes drop
        # the repeats. (A delay, not a synchronisation: there is no event to wait for.)
        await asyncio.sleep(self.settings.republish_again_after_s)
        await self.relay.republish_retained()

    async def _connect(self) -> None:
        s = self.settings
        while True:
            try:
                await wait_for_broker(s.kafka_bootstrap_servers, timeout_s=30)
                if await self.guard.check():
                    await self.relay.republish_retained()
                await self.producer.start()
                self._connected = True
                break
            except (TimeoutError, KafkaError):
                log.warning("broker %s unreachable; retrying", s.kafka_bootstrap_servers)
        self.spawn(self.relay.run(), "outbox-relay")
        self.spawn(self.guard.run(), "topic-guard")
        for topic in self._subscriptions:
            metrics.DEAD_LETTERED.labels(topic)  # present at zero, so rate() and alerts see the first one
        if self._subscriptions:
            self.consumer = ConsumerRunner(
                settings=s, db=self.db, producer=self.producer, subscriptions=self._subscriptions,
                preload=self._preload,
            )
            await self.consumer.start()
            self._consumer_task = self.spawn(self.consumer.run(), "consumer")

    async def _backlogs(self) -> None:
        """The outbox's backlog and age, and the consumer's lag."""
        if self._connected:
            await self.relay.backlog()
        if self.consumer is not None:
            await self.consumer.observe_lag()

    async def stop(self) -> None:
        """Finish the batch in hand, commit, publish what is pending, then close."""
        if self._consumer_task is not None:
            self.consumer.stop()
            try:
                await asyncio.wait_for(asyncio.shield(self._consumer_task), SHUTDOWN_GRACE_S)
            except Exception:
                log.warning("consumer did not finish its batch in %ss", SHUTDOWN_GRACE_S)
        if self._connected:
            try:
                await asyncio.wait_for(self.relay.relay_once(), SHUTDOWN_GRACE_S / 2)
                await asyncio.wait_for(self.relay.close(), SHUTDOWN_GRACE_S / 2)
            except Exception:
                log.warning("outbox not drained at shutdown; the next start publishes it")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.close()
        if self.guard is not None:
            await self.guard.close()
        if self._connected:
            await self.producer.stop()
        await self.db.dispose()

    async def readiness(self) -> dict[str, bool]:
        checks = {"database": await self.db.ping(), "broker": self._connected and self.guard.broker_reachable}
        if self._subscriptions:
            checks["consumer_assigned"] = bool(self.consumer and self.consumer.assigned)
        return checks

    def health_router(self) -> APIRouter:
        """`/healthz`, `/readyz`, `/metrics`, `/asyncapi.json`: open to all (probes and Prometheus carry no token)."""
        router = APIRouter(tags=["health"])

        @router.get("/healthz")
        async def healthz() -> dict:
            return {"status": "ok", "service": self.settings.service_name}

        @router.get("/readyz")
        async def readyz() -> JSONResponse:
            checks = await self.readiness()
            ready = all(checks.values())
            return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

        @router.get("/asyncapi.json", include_in_schema=False)
        async def asyncapi() -> JSONResponse:
            """The AsyncAPI 3.0 document of every topic and event (the same on every service)."""
            return JSONResponse(asyncapi_document())

        @router.get("/metrics", include_in_schema=False)
        async def prometheus_metrics() -> Response:
            await self.refresh_gauges()
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

        return router

    def mount(self, app: FastAPI) -> None:
        app.include_router(self.health_router())
        app.add_middleware(BodyLimit, max_bytes=self.settings.max_body_bytes)
        app.add_middleware(RequestMetrics)
        app.add_middleware(TraceContext)  # outermost: every line of a request carries its trace


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


def install_error_handlers(app: FastAPI) -> None:
    """Map every rule exception to its status with `{"detail": reason}`."""

    def status_of(exc: Exception) -> int:
        return next(HTTP_STATUS[t] for t in type(exc).__mro__ if t in HTTP_STATUS)

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        headers = {"Retry-After": str(math.ceil(exc.retry_after_s))} if isinstance(exc, RateLimited) else None
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc), headers=headers)

    for exc_type in HTTP_STATUS:
        app.add_exception_handler(exc_type, handle)

    async def storage(request: Request, exc: Exception) -> JSONResponse:
        """A locked, full or unreachable database: 503 naming it, with Retry-After; other errors stay 500."""
        fault = storage_fault(exc)
        if fault is None:
            raise exc
        database = getattr(getattr(request.app.state, "settings", None), "service_name", "service")
        log.warning("%s %s: %s", request.method, request.url.path, fault.describe(database), extra={"error": repr(exc)})
        return JSONResponse({"detail": fault.describe(database)}, status_code=503,
                            headers={"Retry-After": str(fault.retry_after_s)})

    for exc_type in (sa_exc.DBAPIError, sa_exc.TimeoutError, sqlite3.Error):
        app.add_exception_handler(exc_type, storage)


def _log_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s crashed", task.get_name(), exc_info=task.exception())


def service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    routers: Iterable[APIRouter],
    background: Iterable[tuple[str, Callable[[], Awaitable[None]]]] = (),
) -> FastAPI:
    """A service's FastAPI app: lifespan around the runtime, error mapping, health, metrics, routes.

    `background` names loops of the service's own (timers, dispatchers) started after the runtime.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await runtime.start()
        for name, loop in background:
            runtime.spawn(loop(), name)
        yield
        await runtime.stop()

    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan)
    app.state.settings = runtime.settings
    app.state.runtime = runtime
    app.state.db = runtime.db
    app.state.verifier = runtime.verifier
    install_error_handlers(app)
    runtime.mount(app)
    for router in routers:
        app.include_router(router)
    return app
