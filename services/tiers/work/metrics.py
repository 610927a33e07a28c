"""A tier's gauges: its queue by status, and the SLA clocks of its open tickets at risk or breached.

Refreshed by a query before each scrape (ServiceRuntime.measure), so they read what the table says now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from prometheus_client import Gauge
from sqlalchemy import func
from sqlmodel import col, select

from shared.lifecycle import OPEN, Status

from services.tiers.tier import Tier
from services.tiers.work.models import TierTicket

QUEUE_DEPTH = Gauge("escalier_tier_queue_depth", "Tickets held at the tier, by status", ["tier", "status"])
SLA_CLOCKS = Gauge(
    "escalier_sla_clocks",
    "Clocks of the tier's open tickets past their warning share (at_risk) or their target (breached)",
    ["tier", "clock", "state"],
)
CLOCKS = ("first_response", "resolution", "tier_budget")


def clock_states(slas: Iterable[dict]) -> Counter[tuple[str, str]]:
    """(clock, state) -> tickets, from stored TierSla dicts; a breached clock is not also at risk."""
    tally: Counter[tuple[str, str]] = Counter()
    for sla in slas:
        clocks = {**(sla.get("clocks") or {}), "tier_budget": sla.get("budget") or {}}
        for name, clock in clocks.items():
            if not isinstance(clock, dict) or clock.get("stopped_at"):
                continue
            if clock.get("breached"):
                tally[(name, "breached")] += 1
            elif clock.get("warned"):
                tally[(name, "at_risk")] += 1
    return tally


async def refresh(tier: Tier) -> None:
    """Set the queue and SLA gauges of `tier` from its table."""
    here = TierTicket.here == True  # noqa: E712 (SQL expression)
    async with tier.db.read() as session:
        by_status = dict(
            (await session.exec(select(TierTicket.status, func.count()).where(here).group_by(TierTicket.status))).all()
        )
        slas = (
            await session.exec(select(TierTicket.sla).where(here, col(TierTicket.status).in_([s.value for s in OPEN])))
        ).all()
    label = str(tier.number)
    for status in Status:
        QUEUE_DEPTH.labels(label, status.value).set(by_status.get(status.value, 0))
    states = clock_states(slas)
    for clock in CLOCKS:
        for state in ("at_risk", "breached"):
            SLA_CLOCKS.labels(label, clock, state).set(states.get((clock, state), 0))
