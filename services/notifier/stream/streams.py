"""The live stream: stored public events replayed from a resume point, then followed as they commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection

import anyio
import orjson
from sse_starlette import ServerSentEvent

from shared.db import Database

from services.notifier import domain
from services.notifier.settings import NotifierSettings
from services.notifier.stream import handlers
from services.notifier.stream.models import StreamEvent


class Streams:
    """Feeds every SSE listener; `notify()` (the commit hook) wakes them all at once."""

    def __init__(self, db: Database, settings: NotifierSettings) -> None:
        self._db = db
        self._batch_size = settings.stream_batch_size
        self._wait_timeout_s = settings.stream_wait_timeout_s
        # One future shared by all waiting listeners, resolved and replaced on each notify:
        # waking N listeners costs no task per listener. Made lazily, inside the running loop.
        self._next_commit: asyncio.Future[None] | None = None

    def notify(self) -> None:
        """New stream events were committed: wake every listener."""
        if self._next_commit is not None and not self._next_commit.done():
            self._next_commit.set_result(None)
        self._next_commit = None

    def _commit_waiter(self) -> asyncio.Future[None]:
        if self._next_commit is None:
            self._next_commit = asyncio.get_running_loop().create_future()
        return self._next_commit

    async def follow(
        self,
        *,
        after: int,
        stop: anyio.Event,
        ticket_id: str | None = None,
        organizations: Collection[str] | None = None,
        types: Collection[str] = (),
    ) -> AsyncIterator[ServerSentEvent]:
        """The matching events with seq > after, then each new one as it commits, until `stop` is set."""
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                # Taken before the query: a commit landing during it still wakes the wait below.
                committed = self._commit_waiter()
                rows = await handlers.stream_events_after(
                    self._db, after=after, limit=self._batch_size,
                    ticket_id=ticket_id, organizations=organizations, types=types,
                )
                for row in rows:
                    after = row.seq
                    yield to_sse(row)
                if len(rows) < self._batch_size:
                    # The timeout is only a safety net against a missed wake-up.
                    await asyncio.wait(
                        {committed, stopping}, timeout=self._wait_timeout_s, return_when=asyncio.FIRST_COMPLETED
                    )
        finally:
            stopping.cancel()


def to_sse(row: StreamEvent) -> ServerSentEvent:
    """One stored event as an SSE message: id = seq (the resume point), event = type, data = body."""
    body = domain.event_body(
        event_id=row.event_id, event_type=row.type, time=row.time, ticket_id=row.ticket_id, data=row.data
    )
    return ServerSentEvent(id=str(row.seq), event=row.type, data=orjson.dumps(body).decode())
