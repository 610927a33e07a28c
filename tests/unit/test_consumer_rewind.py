"""A rewind while a commit is due: the consumer loop must still wait for something.

Seen in the fault suite: a service's guard rewound its consumer less than a second after a
batch, while the coalesced commit was due. The rewind dropped the positions to commit but
left the commit's due time in the past, so every turn of the loop asked for records "until"
a moment already gone; once every partition was caught up, the fetch returned at once
without awaiting anything and the loop spun on the event loop's thread: the service stopped
answering (its /readyz, its API, SIGTERM) until it was killed.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka import TopicPartition

from shared.config import ServiceSettings
from shared.messaging.consumer import ConsumerRunner

TP = TopicPartition("tickets.events", 0)


class _Consumer:
    def assignment(self):
        return {TP}

    async def seek_to_beginning(self):
        pass

    async def commit(self, positions):
        raise AssertionError(f"nothing is left to commit after a rewind, yet {positions} was")

    def highwater(self, tp):
        return None


class _Fetching:
    """Records each `until` it is asked for; stops the runner at the third call."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner, self.untils = runner, []

    async def next(self, max_records, until):
        self.untils.append(until)
        if len(self.untils) == 3:
            self.runner.stop()
        return {}

    def drain_all(self):
        pass

    def wake(self):
        pass


async def test_a_rewind_with_a_commit_due_leaves_the_loop_waiting_not_spinning():
    runner = ConsumerRunner(settings=ServiceSettings(), db=None, producer=None, subscriptions={})
    runner._consumer, runner._fetching = _Consumer(), _Fetching(runner)
    runner._uncommitted, runner._commit_at = {TP: 42}, time.monotonic() - 0.5  # a commit is due
    runner.rewind()
    await asyncio.wait_for(runner.run(), 5)
    now = time.monotonic()
    # After the rewind nothing is left to commit: the loop waits as long as it likes, not "until" a past moment.
    assert all(until > now + 60 for until in runner._fetching.untils), runner._fetching.untils
