"""Every broken rule mapped to its HTTP status in one place, and storage faults to 503."""

from __future__ import annotations

import logging
import math
import sqlite3

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from shared.errors import HTTP_STATUS, RateLimited
from shared.storage import storage_fault

log = logging.getLogger(__name__)


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
