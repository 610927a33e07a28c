"""The routes every service answers besides its own: liveness, readiness, metrics, the AsyncAPI document."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.messaging import metrics

if TYPE_CHECKING:
    from shared.runtime import ServiceRuntime


def health_router(runtime: ServiceRuntime) -> APIRouter:
    """`/healthz`, `/readyz`, `/metrics`, `/asyncapi.json`: open to all (probes and Prometheus carry no token)."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "service": runtime.settings.service_name}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = await runtime.readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi() -> JSONResponse:
        """This service's AsyncAPI 3.0 document: the topics it touches, what it sends and receives on each."""
        return JSONResponse(runtime.asyncapi())

    @router.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        await runtime.refresh_gauges()
        return Response(generate_latest(metrics.registry()), media_type=CONTENT_TYPE_LATEST)

    return router
