"""Waiting for conditions with a deadline: tests never sleep in place of synchronisation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], timeout_s: float = 30.0, interval_s: float = 0.05) -> T:
    """Await `probe()` until it returns something truthy, and return that; fail at the deadline."""
    last: T | None = None
    try:
        async with asyncio.timeout(timeout_s):
            while not (last := await probe()):
                await asyncio.sleep(interval_s)
    except TimeoutError:
        raise AssertionError(f"condition not met within {timeout_s}s; last value: {last!r}") from None
    return last
