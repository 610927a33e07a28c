"""The tier's alarm clock sleeps until the earliest alarm: woken by a commit that sets an earlier
one, never by commits that change nothing it waits for (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


from shared.messages import new_event
from shared.messages.common import Requester, TicketSnapshot
from shared.messages.tickets import TicketRouted

from services.tiers.tier import Tier
from services.tiers.work.handlers import receive_handoff
from services.tiers.work.models import TierTicket
from services.tiers.work.timers import AlarmClock
from tests.helpers import eventually


async def queue(tier: Tier, ticket_id: str, priority: str) -> datetime:
    snapshot = TicketSnapshot(
        ticket_id=ticket_id, title="VPN down", description="Nobody can connect.",
        requester=Requester(email="ann@acme.example", name="Ann", language="en"), organization="acme",
        impact="high", urgency="high", priority=priority, category="network", submitted_at=datetime.now(UTC),
    )
    async with tier.db.unit_of_work() as session:
        await receive_handoff(session, new_event("triage", TicketRouted(ticket_id=ticket_id, tier=1, priority=priority, snapshot=snapshot)), tier=tier)
    async with tier.db.read() as session:
        return (await session.get(TierTicket, ticket_id)).next_alarm_at


async def test_only_a_commit_that_sets_an_earlier_alarm_wakes_the_sleeping_clock(tier):
    clock = AlarmClock(tier, max_sleep_s=24 * 3600)
    tier.db.on_commit(clock.after_commit)
    task = asyncio.create_task(clock.run())
    try:
        await eventually(lambda: _sleeping(clock), timeout_s=10)
        first = await queue(tier, "urgent", "P1")
        assert first is not None
        await eventually(lambda: _sleeping_until(clock, first), timeout_s=10)
        assert clock.woken == 1

        async with tier.db.unit_of_work():
            pass  # a commit that sets no alarm
        later = await queue(tier, "routine", "P4")  # its first alarm comes after the urgent one's
        assert later > first
        assert clock.woken == 1 and await _sleeping_until(clock, first)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _sleeping(clock: AlarmClock) -> bool:
    return clock._wake_at is not None


async def _sleeping_until(clock: AlarmClock, at: datetime) -> bool:
    return clock._wake_at is not None and abs((clock._wake_at - at).total_seconds()) < 1
