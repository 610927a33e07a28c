"""A job run in the background, at most one at a time; its failure is logged, never raised."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class OneAtATime:
    """E.g. recording what was sent while sending goes on: the record waits its turn for the
    database writer, and whoever starts it must not wait with it."""

    def __init__(self, failure: str, *, then: Callable[[], None] | None = None) -> None:
        self._failure = failure  # logged with the traceback when a job raises
        self._then = then  # called after each job, whatever came of it
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job()` now, unless one is still running."""
        if not self.running:
            self._task = asyncio.create_task(self._run(job))

    async def finished(self) -> None:
        """Wait for the job in hand, if any."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, job: Callable[[], Awaitable[None]]) -> None:
        try:
            await job()
        except Exception:
            log.exception(self._failure)
        if self._then is not None:
            self._then()
