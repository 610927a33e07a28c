"""Run one service's app with uvicorn: the body of every `python -m services.<name>`."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.config import ServiceSettings
from shared import tracing
from shared.logs import configure_logging


def serve(create_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    """Serve `create_app(settings)` until SIGINT/SIGTERM, then shut down gracefully."""
    configure_logging(settings.log_level, service=settings.service_name)
    tracing.configure(settings.service_name)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        log_level=settings.log_level.lower(),
        access_log=False,
        log_config=None,  # shared.logs: JSON lines for uvicorn's loggers too
        timeout_graceful_shutdown=10,
    )
