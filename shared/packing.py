"""Which service the running code belongs to, where several share one process.

`escalier up --processes N` may run several services in one process (`python -m escalier_cli.packed`,
`shared.serve.serve_together`), each with its own settings, database, consumer group, port and
topics. What the process holds once would then be shared by them: the log lines' `service`, the
tracer's `service.name`, the Prometheus collectors. Those look up the service of the code that runs
here, a context variable set around each service's server and each of its requests; asyncio copies
it into every task started inside (its consumer, relay and timers). In a process of one service it
is never set, and each of those falls back to the process's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_service: ContextVar[str | None] = ContextVar("escalier_packed_service", default=None)


def current() -> str | None:
    """The service the running code belongs to in a packed process; None in a process of one service."""
    return _service.get()


@contextmanager
def serving(name: str) -> Iterator[None]:
    """Run the block, and every task it starts, as service `name`."""
    token = _service.set(name)
    try:
        yield
    finally:
        _service.reset(token)


def scoped(app, name: str):
    """The ASGI app `app` run as service `name`: its lifespan, every request and what they start."""

    async def asgi(scope, receive, send) -> None:
        token = _service.set(name)
        try:
            await app(scope, receive, send)
        finally:
            _service.reset(token)

    return asgi
