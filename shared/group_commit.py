"""Group commit: many callers' works in one transaction (`Database.batched`), each failing alone.

Under load one commit serves a whole group of requests; idle, a work is written at once.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.storage import storage_fault

if TYPE_CHECKING:
    from shared.db import Database

T = TypeVar("T")


@dataclass(slots=True)
class _Work:
    work: Callable[[AsyncSession], Awaitable[Any]]
    future: asyncio.Future
    context: contextvars.Context


class GroupWriter:
    """Queues works for `Database.batched`; one task writes them, a group per transaction."""

    def __init__(self, db: Database, *, max_group: int = 64) -> None:
        self._db = db
        self._max_group = max_group
        self._queue: list[_Work] = []
        self._writing: asyncio.Task | None = None

    async def submit(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        future = asyncio.get_running_loop().create_future()
        # The caller's context (its trace, its log fields) goes with its work.
        self._queue.append(_Work(work, future, contextvars.copy_context()))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_groups())
        return await future

    async def _write_groups(self) -> None:
        while self._queue:
            group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
            group = [w for w in group if not w.future.cancelled()]
            if group:
                await self._write(group)

    async def _write(self, group: list[_Work]) -> None:
        while group:
            try:
                outcomes = await self._attempt(group)
            except _WorkFailed as failed:
                if storage_fault(failed.error) is None:
                    # Its own error, for its caller alone; the rest of the group goes again
                    # without it, in a new transaction (this one, rolled back, held its writes).
                    if not failed.work.future.done():
                        failed.work.future.set_exception(failed.error)
                    group = [w for w in group if w is not failed.work and not w.future.cancelled()]
                    continue
                # The database is locked, full or away: it is so for every work of the group.
                self._fail(group, failed.error)
                return
            except BaseException as exc:  # the commit (or the writer) failed: nothing of the group is stored
                if isinstance(exc, Exception) and storage_fault(exc) is None and len(group) > 1:
                    # The commit refused one of them (a unique key taken meanwhile, say): each
                    # goes again alone, so only that one fails.
                    for w in group:
                        if not w.future.cancelled():
                            await self._write([w])
                    return
                self._fail(group, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            for future, value in outcomes:
                if not future.done():  # else its caller went away; the work is committed all the same
                    future.set_result(value)
            return

    async def _attempt(self, group: list[_Work]) -> list[tuple[asyncio.Future, Any]]:
        """Run the whole group in one transaction, no savepoints (each cost two statements and a
        flush of its own): a work that raises rolls it all back, and the group is run again."""
        outcomes = []
        async with self._db.unit_of_work() as session:
            for w in group:
                try:
                    value = await _InContext(w.work(session), w.context)
                except Exception as exc:
                    raise _WorkFailed(w, exc) from exc
                outcomes.append((w.future, value))
        return outcomes

    def _fail(self, group: list[_Work], exc: BaseException) -> None:
        if isinstance(exc, Exception) and storage_fault(exc) is not None:
            # Those queued behind would wait as long for the same answer: they get it now.
            group, self._queue = group + self._queue, []
        for w in group:
            if not w.future.done():
                w.future.set_exception(exc)


class _WorkFailed(Exception):
    def __init__(self, work: _Work, error: Exception) -> None:
        super().__init__(work, error)
        self.work, self.error = work, error


class _InContext:
    """Await a coroutine with each of its steps run in `context`: a task would do the same at
    the price of a turn of the loop per work, which under load was most of a group's time."""

    def __init__(self, coro, context: contextvars.Context) -> None:
        self._coro, self._context = coro, context

    def __await__(self):
        value, error = None, None
        while True:
            try:
                if error is None:
                    step = self._context.run(self._coro.send, value)
                else:
                    step = self._context.run(self._coro.throw, error)
            except StopIteration as stop:
                return stop.value
            try:
                value, error = (yield step), None
            except BaseException as exc:  # thrown into us (a cancellation): pass it on
                value, error = None, exc
