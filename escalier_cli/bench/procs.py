"""The bench's own worker processes (load, receiver, agents, bare bus): started, stopped, their results."""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection

from escalier_cli.bench.procstat import memory_mb

Job = Callable[[dict, Connection], Awaitable[dict]]


def _run_async(job: Job, spec: dict, conn: Connection) -> dict:
    try:
        import uvloop  # the services use it where installed; so does the load, to stay cheap

        return uvloop.run(job(spec, conn))
    except ImportError:
        return asyncio.run(job(spec, conn))


def _child(target: str, spec: dict, conn: Connection) -> None:
    module, _, name = target.partition(":")
    job = getattr(importlib.import_module(module), name)
    try:
        result = _run_async(job, spec, conn)
    except BaseException as exc:  # the parent must hear of it rather than wait forever
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
        raise
    times = os.times()
    result["process"] = {"cpu_s": round(times.user + times.system, 2),
                         "peak_rss_mb": round((memory_mb(os.getpid()) or {}).get("hwm", 0.0), 1)}
    conn.send(result)


async def wait_for_stop(conn: Connection, answer: Callable[[str], dict] | None = None, interval_s: float = 0.05) -> None:
    """In a child: return when the parent says "stop"; other questions are passed to `answer`."""
    while True:
        while not conn.poll():
            await asyncio.sleep(interval_s)
        if (message := conn.recv()) == "stop":
            return
        conn.send(answer(message) if answer else {})


async def until(probe: Callable[[], Awaitable[bool]], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Wait until `probe()` is true, asking every `interval_s`; False if `timeout_s` passed first."""
    deadline = time.monotonic() + timeout_s
    while not await probe():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(interval_s)
    return True


class Child:
    """A job (`module:function`, an async function of (spec, conn)) in a spawned process."""

    def __init__(self, target: str, spec: dict) -> None:
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs an event loop
        self._conn, child_conn = ctx.Pipe()
        self.process = ctx.Process(target=_child, args=(target, spec, child_conn), daemon=True)
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self) -> Child:
        self.started_at = time.monotonic()
        self.process.start()
        return self

    def recv(self, timeout_s: float) -> dict:
        """The next message from the child; RuntimeError if it failed or stayed silent."""
        if not self._conn.poll(timeout_s):
            raise RuntimeError(f"{self.process.name} sent nothing within {timeout_s}s")
        message = self._conn.recv()
        if "error" in message:
            raise RuntimeError(message["error"])
        return message

    async def result(self, timeout_s: float, *, stop: bool = False) -> dict:
        """Its final result (asking it to stop first if `stop`), without blocking the event loop."""
        if stop:
            self._conn.send("stop")
        message = await asyncio.to_thread(self.recv, timeout_s)
        self.process.join(10)
        return message

    async def ask(self, question: str, timeout_s: float = 10.0) -> dict:
        """A running child's answer to `question`."""
        self._conn.send(question)
        return await asyncio.to_thread(self.recv, timeout_s)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
