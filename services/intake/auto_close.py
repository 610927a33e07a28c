"""The auto-close sweep: resolved tickets close themselves once their grace period has passed.

Durable because its state is the tickets' own: a ticket is closed, and its `ticket.closed`
staged, in one transaction, so a restart neither loses a close nor sends one twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlmodel import col, select

from shared.db import Database, utcnow
from shared.lifecycle import Status

from services.intake import requester_rules
from services.intake.models import IntakeTicket
from services.intake.requester_actions import locked_ticket, stage
from services.intake.settings import IntakeSettings

log = logging.getLogger(__name__)


class AutoCloser:
    """Closes, every interval, the resolved tickets whose grace period has passed."""

    def __init__(self, db: Database, settings: IntakeSettings, *, batch_size: int = 200) -> None:
        self._db = db
        self._grace = timedelta(seconds=settings.auto_close_after_s)
        self._interval_s = settings.auto_close_interval_s
        self._batch_size = batch_size

    async def run(self) -> None:
        """Sweep until cancelled; a failed sweep is logged and tried again at the next interval."""
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("auto-close sweep failed; retrying at the next interval")
            await asyncio.sleep(self._interval_s)

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
