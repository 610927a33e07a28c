"""Run one service's app with uvicorn: the body of every `python -m services.<name>`."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.config import ServiceSettings


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format='{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","message":"%(message)s"}',
    )
    for noisy in ("aiokafka", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def serve(create_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    """Serve `create_app(settings)` until SIGINT/SIGTERM, then shut down gracefully."""
    configure_logging(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
    )
