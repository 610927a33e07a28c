"""The app factory: one service's FastAPI app around its runtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from shared.runtime import ServiceRuntime
from shared.web.errors import install_error_handlers
from shared.web.health import health_router
from shared.web.middleware import BodyLimit, RequestMetrics, TraceContext


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
    app.include_router(health_router(runtime))
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(RequestMetrics)
    app.add_middleware(TraceContext)  # outermost: every line of a request carries its trace
    for router in routers:
        app.include_router(router)
    return app
