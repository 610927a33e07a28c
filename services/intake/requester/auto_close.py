"""The auto-close loop: resolved tickets close themselves once their grace period has passed.

Durable because its state is the tickets' own: a ticket is closed, and its `ticket.closed`
staged, in one transaction (handlers.close_resolved_ticket), so a restart neither loses a
close nor sends one twice. This module only decides when to sweep.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, utcnow
from shared.waits import wait_for_event

from services.intake.requester import handlers
from services.intake.requester.handlers import RESOLVED_FLAG
from services.intake.settings import IntakeSettings

log = logging.getLogger(__name__)

# Sweeps are at least this far apart: the tickets falling due meanwhile close together, a
# second late at most, rather than a sweep each (and a ticket left due is tried again then).
_MIN_GAP = timedelta(seconds=1)


class AutoCloser:
    """Closes each resolved ticket when its grace period has passed.

    Between sweeps it sleeps until the next ticket is due, at most `auto_close_interval_s`
    (a safety net, and the pace at which another replica's resolutions are noticed); a commit
    in this process that makes a ticket due sooner wakes it.
    """

    def __init__(self, db: Database, settings: IntakeSettings, *, batch_size: int = 200) -> None:
        self._db = db
        self._grace = timedelta(seconds=settings.auto_close_after_s)
        self._max_sleep = timedelta(seconds=settings.auto_close_interval_s)
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._sooner: datetime | None = None  # the earliest due time committed since the last sweep began
        self.next_sweep: datetime | None = None  # when the loop sweeps next; None while it sweeps
        db.on_commit(self._after_commit)

    def _after_commit(self, session: AsyncSession) -> None:
        resolved_at = session.info.get(RESOLVED_FLAG)
        if resolved_at is None:
            return
        due = resolved_at + self._grace
        self._sooner = due if self._sooner is None else min(due, self._sooner)
        if self.next_sweep is None or due < self.next_sweep:
            self._wake.set()

    async def run(self) -> None:
        """Sweep until cancelled; a failed sweep is logged and tried again after the interval."""
        while True:
            # Reset before the sweep reads: what commits from here on is planned for below.
            self._wake.clear()
            self._sooner = self.next_sweep = None
            swept_at = utcnow()
            try:
                await self.sweep_once(swept_at)
                due = await handlers.next_close_due(self._db, grace=self._grace)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("auto-close sweep failed; retrying at the next interval")
                due = None
            self.next_sweep = self._plan(swept_at, due)
            while await wait_for_event(self._wake, max(0.0, (self.next_sweep - utcnow()).total_seconds())):
                self._wake.clear()
                self.next_sweep = self._plan(swept_at, None)

    def _plan(self, swept_at: datetime, due: datetime | None) -> datetime:
        """The next sweep: the earliest due time known, within the interval from now, a gap after the last."""
        known = [t for t in (due, self._sooner, self.next_sweep) if t is not None]
        return max(min([utcnow() + self._max_sleep, *known]), swept_at + _MIN_GAP)

    async def sweep_once(self, now: datetime | None = None) -> int:
        """Close every ticket due by `now`; how many were closed."""
        now = now or utcnow()
        closed = 0
        while True:
            ids = await handlers.tickets_due_to_close(self._db, now=now, grace=self._grace, limit=self._batch_size)
            batch_closed = sum([await self._close(ticket_id, now) for ticket_id in ids])
            closed += batch_closed
            # A full batch of which nothing closed would come back unchanged: stop there.
            if len(ids) < self._batch_size or batch_closed == 0:
                return closed

    async def _close(self, ticket_id: str, now: datetime) -> int:
        closed = await handlers.close_resolved_ticket(self._db, ticket_id=ticket_id, now=now, grace=self._grace)
        return int(closed)
