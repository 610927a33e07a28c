"""A tier's SLA state: the contract clocks it runs, its own budget (OLA), and the alarms they raise.

Plain Python. Alarms are derived from the state, so the only durable timer a ticket
needs is its next alarm time; firing sets flags in the same state, so nothing fires twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel

from shared.messages import tickets as ev
from shared.messages.common import Payload
from shared.sla.clock import Clock
from shared.sla.clocks import TicketClocks
from shared.sla.contracts import Contract

ClockName = Literal["first_response", "resolution", "tier_budget"]


@dataclass(frozen=True)
class Alarm:
    kind: Literal["warning", "breach", "reminder"]
    clock: ClockName
    due_at: datetime


class TierSla(BaseModel):
    """Serializable; stored with the ticket at the tier."""

    clocks: TicketClocks
    budget: Clock
    tier_seconds: dict[str, float] = {}
    alerted_at: datetime | None = None  # tier 3's hierarchical alert, the base of reminders
    reminders: int = 0

    @classmethod
    def arrived(cls, contract: Contract, *, tier: int, priority: str, submitted_at: datetime,
                clocks: dict | None, tier_seconds: dict[str, float], at: datetime) -> TierSla:
        """The state of a ticket just queued at `tier`: contract clocks continued, a fresh budget."""
        return cls(
            clocks=(
                TicketClocks.model_validate(clocks) if clocks
                else TicketClocks.started(contract, priority, submitted_at)
            ),
            budget=Clock.started(contract.tier_budget_s(priority, tier), at),
            tier_seconds=dict(tier_seconds),
        )

    def named_clocks(self) -> list[tuple[ClockName, Clock]]:
        return [*self.clocks.items(), ("tier_budget", self.budget)]

    def apply(self, data: Payload, at: datetime, contract: Contract) -> None:
        """Move every clock as the fact `data` requires."""
        calendar = contract.calendar
        self.clocks.apply(data, at, calendar)
        match data:
            case ev.InfoRequested():
                self.budget.pause(at, calendar)
            case ev.RequesterReplied():
                self.budget.resume(at)
            case ev.TicketResolved() | ev.TicketEscalated() | ev.TicketClosed():
                self.budget.stop(at, calendar)
            case ev.TicketReopened():
                self.budget.accrued_s = 0.0
                self.budget.restart(at)
                self.alerted_at, self.reminders = None, 0

    def time_here_s(self, tier: int, now: datetime, contract: Contract) -> dict[str, float]:
        """Open seconds per tier, this tier's stay included."""
        spent = self.budget.elapsed_s(now, contract.calendar)
        return {**self.tier_seconds, str(tier): round(self.tier_seconds.get(str(tier), 0.0) + spent, 3)}

    def alarms(self, contract: Contract, *, unclaimed: bool) -> list[Alarm]:
        """Every alarm still to fire, given the clocks as they run now."""
        calendar = contract.calendar
        pending = []
        for name, clock in self.named_clocks():
            if not clock.warned and (due := clock.due_at(calendar, contract.warning_share)):
                pending.append(Alarm("warning", name, due))
            if not clock.breached and (due := clock.due_at(calendar)):
                pending.append(Alarm("breach", name, due))
        if self.alerted_at and unclaimed:
            interval = timedelta(seconds=contract.reminder_interval_s)
            pending.append(Alarm("reminder", "tier_budget", self.alerted_at + interval * (self.reminders + 1)))
        return pending

    def due_at(self, contract: Contract) -> datetime | None:
        """The earliest time a running clock breaches (or breached): the queue's urgency."""
        return min((d for _, c in self.named_clocks() if (d := c.due_at(contract.calendar))), default=None)

    def view(self, tier: int, now: datetime, contract: Contract) -> dict:
        """Every clock as an agent reads it, and the time spent per tier."""
        calendar = contract.calendar
        return {
            "contract": contract.name,
            "clocks": {name: clock.view(now, calendar) for name, clock in self.named_clocks()},
            "tier_seconds": self.time_here_s(tier, now, contract),
            "alerted_at": self.alerted_at,
            "reminders": self.reminders,
        }

    def next_alarm_at(self, contract: Contract, *, unclaimed: bool) -> datetime | None:
        return min((a.due_at for a in self.alarms(contract, unclaimed=unclaimed)), default=None)
