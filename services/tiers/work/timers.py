"""The tier's SLA timer loop: fires each ticket's alarms at their due time, across restarts.

Due times live in the database (`tier_tickets.next_alarm_at`), so a restarted service
fires what fell due while it was down; firing and the new due time are one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from prometheus_client import Counter
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import utcnow
from shared.messages.registry import TYPE_OF
from shared.messaging import metrics
from shared.waits import wait_for_event

from services.tiers.tier import Tier
from services.tiers.work import handlers

log = logging.getLogger(__name__)

FIRED = Counter("escalier_sla_alarms_fired_total", "SLA warnings and breaches this process fired", ["tier", "type"])


class AlarmClock:
    """Sleeps until the earliest alarm, woken only by a commit that set an earlier one.

    `max_sleep_s` bounds the sleep for what no commit here tells of (another replica's
    tickets, a clock set back).
    """

    def __init__(self, tier: Tier, *, max_sleep_s: float = 30.0) -> None:
        self._tier = tier
        self._max_sleep_s = max_sleep_s
        self._wake = asyncio.Event()
        self._wake_at: datetime | None = None  # when the sleeping loop looks next (None: it is looking)
        self.woken = 0

    def after_commit(self, session: AsyncSession) -> None:
        """Called after every commit: wake the loop if the commit set an alarm before its wake-up."""
        alarm = session.info.pop(handlers.ALARM_SET, None)
        # While the loop looks (between its clear and its sleep), any alarm may be one it missed.
        if alarm is not None and (self._wake_at is None or alarm < self._wake_at):
            self.woken += 1
            self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()  # before reading: a commit from now on wakes the wait below
            try:
                await self.fire_due()
                delay = await self._delay()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SLA alarm loop failed; retrying")
                delay = self._max_sleep_s
            self._wake_at = utcnow() + timedelta(seconds=delay)
            await wait_for_event(self._wake, delay)
            self._wake_at = None

    async def fire_due(self) -> int:
        """Fire every alarm due now; how many tickets had one."""
        count = 0
        while ids := await handlers.due_tickets(self._tier, until=utcnow()):
            for ticket_id in ids:
                for fact in await handlers.fire_due_alarms(self._tier, ticket_id):
                    metrics.child(FIRED, str(self._tier.number), TYPE_OF[type(fact)]).inc()
            count += len(ids)
        return count

    async def _delay(self) -> float:
        upcoming = await handlers.next_alarm_at(self._tier)
        if upcoming is None:
            return self._max_sleep_s
        return min(self._max_sleep_s, max(0.0, (upcoming - utcnow()).total_seconds()))
