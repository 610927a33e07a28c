"""Run a service's app with uvicorn: the body of every `python -m services.<name>`; or several in one process."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

import uvicorn
from fastapi import FastAPI

from shared.config import ServiceSettings
from shared import packing, tracing
from shared.logs import configure_logging
from shared.messaging import metrics
from shared.waits import wait_for_event

log = logging.getLogger(__name__)

AppFactory = Callable[[ServiceSettings], FastAPI]


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


def serve(create_app: AppFactory, settings: ServiceSettings) -> None:
    """Serve `create_app(settings)` until SIGINT/SIGTERM, then shut down gracefully."""
    configure_logging(settings.log_level, service=settings.service_name)
    tracing.configure(settings.service_name)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _Server(_config(create_app(settings), settings)).run()


def _config(app, settings: ServiceSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        log_level=settings.log_level.lower(),
        access_log=False,
        log_config=None,  # shared.logs: JSON lines for uvicorn's loggers too
        timeout_graceful_shutdown=10,
    )


class _PackedServer(_Server):
    """One service's server among several in a process: the process's signal handler stops them all."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # uvicorn's would install a handler per server, each replacing the last

    def stop(self) -> None:
        """Ask the server to shut down gracefully, from within the loop."""
        self.should_exit = True
        if (tick := getattr(self, "_tick", None)) is not None:
            tick.set()


def serve_together(services: Sequence[tuple[AppFactory, ServiceSettings]]) -> int:
    """Serve several services in one process and one event loop, each with its own settings, app and
    port, until SIGINT/SIGTERM stops them all gracefully (or one of them stops: the others follow).
    Exit status 1 when one of them failed."""
    names = [settings.service_name for _, settings in services]
    configure_logging(services[0][1].log_level, service="+".join(names))  # lines outside any service's
    servers: list[tuple[str, _PackedServer]] = []
    runtimes = []
    for create_app, settings in services:
        name = settings.service_name
        with packing.serving(name):  # what the app logs or measures while it is built is its own
            tracing.configure(name)
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            app = create_app(settings)
        runtimes.append(app.state.runtime)
        servers.append((name, _PackedServer(_config(packing.scoped(app, name), settings))))
    _serve_process_figures_once(names, runtimes)
    with asyncio.Runner(loop_factory=servers[0][1].config.get_loop_factory()) as runner:
        return runner.run(_serve_all(servers))


def _serve_process_figures_once(names: list[str], runtimes: list) -> None:
    """The first service's `/metrics` serves the process's own figures (shared.messaging.metrics), the
    other services' gauges among them: its scrape refreshes theirs first, each as its own service."""

    def refresh_as(name: str, runtime):
        async def refresh() -> None:
            with packing.serving(name):
                await runtime.refresh_gauges()

        return refresh

    with packing.serving(names[0]):
        metrics.serve_process_figures()
    for name, runtime in zip(names[1:], runtimes[1:]):
        runtimes[0].measure(refresh_as(name, runtime))


async def _serve_all(servers: list[tuple[str, _PackedServer]]) -> int:
    def on_signal(sig: int, frame: FrameType | None) -> None:
        for _, server in servers:
            server.handle_exit(sig, frame)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        results = await asyncio.gather(*(_serve_one(name, server, servers) for name, server in servers))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if all(results) else 1


async def _serve_one(name: str, server: _PackedServer, servers: list[tuple[str, _PackedServer]]) -> bool:
    """Serve as service `name` (its tasks inherit it); when it stops, stop the others. True if it stopped cleanly."""
    clean = True
    with packing.serving(name):
        try:
            await server.serve()
        except (Exception, SystemExit):  # uvicorn exits on a failed startup (lifespan, port taken)
            log.exception("%s stopped on an error; stopping the services beside it", name)
            clean = False
    for _, other in servers:
        other.stop()
    return clean
