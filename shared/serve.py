"""Run one service's app with uvicorn: the body of every `python -m services.<name>`."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from shared.config import ServiceSettings
from shared import tracing
from shared.logs import configure_logging
from shared.waits import wait_for_event


class _Server(uvicorn.Server):
    """uvicorn's server ticking once a second rather than ten times: its tick only refreshes the
    Date header (a second's resolution) and looks for an exit, which a signal now wakes at once."""

    async def main_loop(self) -> None:
        self._loop, self._tick = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000  # on_tick does its once-a-second work at multiples of 10
            await wait_for_event(self._tick, 1.0)
            self._tick.clear()
            should_exit = await self.on_tick(counter)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if (loop := getattr(self, "_loop", None)) is not None:
            loop.call_soon_threadsafe(self._tick.set)  # from a signal handler: through the loop's own pipe


def serve(create_app: Callable[[ServiceSettings], FastAPI], settings: ServiceSettings) -> None:
    """Serve `create_app(settings)` until SIGINT/SIGTERM, then shut down gracefully."""
    configure_logging(settings.log_level, service=settings.service_name)
    tracing.configure(settings.service_name)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    config = uvicorn.Config(
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
    _Server(config).run()
