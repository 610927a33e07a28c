"""The auto-close sweep: resolved tickets close themselves once their grace period has passed.

Durable because its state is the tickets' own: a ticket is closed, and its `ticket.closed`
staged, in one transaction, so a restart neither loses a close nor sends one twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, utcnow
from shared.lifecycle import Status
from shared.waits import wait_for_event

from services.intake import requester_rules
from services.intake.handlers import RESOLVED_FLAG
from services.intake.models import IntakeTicket
from services.intake.requester_actions import locked_ticket, stage
from services.intake.settings import IntakeSettings

log = logging.getLogger(__name__)

# After a sweep that left a due ticket open (another replica held it, say): soon, not at once.
_RETRY_S = 1.0


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
        self.next_sweep: datetime | None = None  # when the loop sweeps next; None while it sweeps
        db.on_commit(self._after_commit)

    def _after_commit(self, session: AsyncSession) -> None:
        resolved_at = session.info.get(RESOLVED_FLAG)
        if resolved_at is not None and (self.next_sweep is None or resolved_at + self._grace < self.next_sweep):
            self._wake.set()

    async def run(self) -> None:
        """Sweep until cancelled; a failed sweep is logged and tried again after the interval."""
        while True:
            # Cleared before the sweep reads: a commit from here on wakes the next sleep.
            self._wake.clear()
            self.next_sweep = None
            now = utcnow()
            try:
                await self.sweep_once(now)
                next_sweep = await self._next_sweep(now)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("auto-close sweep failed; retrying at the next interval")
                next_sweep = utcnow() + self._max_sleep
            self.next_sweep = next_sweep
            await wait_for_event(self._wake, max(0.0, (next_sweep - utcnow()).total_seconds()))

    async def _next_sweep(self, swept_at: datetime) -> datetime:
        """When the next resolved ticket is due, within the interval from now."""
        query = select(func.min(IntakeTicket.resolved_at)).where(IntakeTicket.status == Status.RESOLVED)
        async with self._db.read() as session:
            resolved_at = (await session.exec(query)).one()
        now = utcnow()
        if resolved_at is None:
            return now + self._max_sleep
        due = resolved_at + self._grace
        if due <= swept_at:
            due = now + timedelta(seconds=_RETRY_S)
        return min(due, now + self._max_sleep)

    async def sweep_once(self, now: datetime | None = None) -> int:
        """Close every ticket due by `now`; how many were closed."""
        now = now or utcnow()
        closed = 0
        while True:
            ids = await self._due_ids(now)
            batch_closed = sum([await self._close(ticket_id, now) for ticket_id in ids])
            closed += batch_closed
            # A full batch of which nothing closed would come back unchanged: stop there.
            if len(ids) < self._batch_size or batch_closed == 0:
                return closed

    async def _due_ids(self, now: datetime) -> list[str]:
        query = (
            select(IntakeTicket.id)
            .where(IntakeTicket.status == Status.RESOLVED, col(IntakeTicket.resolved_at) <= now - self._grace)
            .order_by(col(IntakeTicket.resolved_at))
            .limit(self._batch_size)
        )
        async with self._db.read() as session:
            return list((await session.exec(query)).all())

    async def _close(self, ticket_id: str, now: datetime) -> int:
        async with self._db.unit_of_work() as session:
            ticket = await locked_ticket(session, ticket_id)
            # Checked again under the lock: the requester may have reopened it meanwhile.
            if ticket is None or not requester_rules.auto_close_due(ticket, now=now, grace=self._grace):
                return 0
            stage(session, ticket, requester_rules.auto_close(ticket))
        return 1
