"""Waiting on an asyncio.Event with a timeout, without losing a cancellation.

On Python 3.11, `asyncio.wait_for(event.wait(), timeout)` swallows a cancellation that
arrives just as the event is set (the wait completes, the CancelledError is dropped), so a
loop around it goes on after its task was cancelled: a service's shutdown, or a test's
teardown, waits forever. `asyncio.timeout` does not.
"""

from __future__ import annotations

import asyncio


async def wait_for_event(event: asyncio.Event, timeout_s: float | None) -> bool:
    """Wait until `event` is set or `timeout_s` passes (None: no limit); whether it was set."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
        return True
    except TimeoutError:
        return False
