"""Waiting on an event with a timeout: set, timed out, and cancelled as it is set."""

from __future__ import annotations

import asyncio

import pytest

from shared.waits import wait_for_event


async def test_it_tells_whether_the_event_was_set_or_the_time_ran_out():
    event = asyncio.Event()
    assert await wait_for_event(event, 0.01) is False
    event.set()
    assert await wait_for_event(event, 0.01) is True


async def test_a_cancellation_arriving_as_the_event_is_set_is_never_lost():
    # The race that asyncio.wait_for loses on Python 3.11: set and cancel in the same loop turn.
    for _ in range(200):
        event = asyncio.Event()
        task = asyncio.create_task(wait_for_event(event, 10))
        await asyncio.sleep(0)  # the task is now waiting
        event.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
