"""aiosqlite, with each statement run on the event loop's thread instead of aiosqlite's own.

aiosqlite sends every call to a worker thread and back. A statement on a local SQLite file in
WAL mode takes tens of microseconds; the two thread switches around it took milliseconds once
the machine was busy (the worker waits to be scheduled, then for the GIL), and a service's one
writer connection spent most of each unit of work waiting on them. Here the calls run inline.

The one call that could block for long is one that meets another process's lock: SQLite's own
busy handler would sleep on the loop's thread. So the connection's busy timeout is zero, and a
"database is locked" answer is retried here, with asyncio sleeps, until `busy_timeout_s` has
passed: the service keeps serving while it waits, as it did with the worker thread. Only the
opening and closing of a connection still go through aiosqlite's thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextvars import ContextVar
from functools import partial

import aiosqlite

_BUSY = ("database is locked", "database table is locked")
_FIRST_WAIT_S = 0.001
_LONGEST_WAIT_S = 0.05

# How long the statements of the current task wait for another process's lock, in place of the
# connection's busy timeout: shorter for a consumer (it lets go of the writer between its own
# retries), longer for migrations at start (replicas starting together wait for each other).
LOCK_WAIT_S: ContextVar[float | None] = ContextVar("sqlite_lock_wait_s", default=None)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose statements run on the caller's thread."""

    def __init__(self, connector, *, busy_timeout_s: float, iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._busy_timeout_s = busy_timeout_s

    async def _execute(self, fn, *args, **kwargs):
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        wait_s, deadline = _FIRST_WAIT_S, None
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not any(text in str(exc) for text in _BUSY):
                    raise
                # Nothing was done: SQLite gives up before it changes anything.
                loop = asyncio.get_running_loop()
                deadline = deadline or loop.time() + (LOCK_WAIT_S.get() or self._busy_timeout_s)
                if loop.time() >= deadline:
                    raise
                await asyncio.sleep(wait_s)
                wait_s = min(wait_s * 2, _LONGEST_WAIT_S)


def connect(path: str, *, busy_timeout_s: float) -> InlineConnection:
    """Open `path` (awaitable), ready for SQLAlchemy's `async_creator`."""
    # timeout=0: SQLite answers "locked" at once and we wait above, off the loop's thread.
    # check_same_thread off: the file is opened on aiosqlite's thread, then used on the loop's.
    connector = partial(sqlite3.connect, path, timeout=0, check_same_thread=False)
    connection = InlineConnection(connector, busy_timeout_s=busy_timeout_s)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite's own connections
    return connection
