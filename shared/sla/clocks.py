"""A ticket's contract clocks (first response, resolution) and how each fact moves them.

The tiers run these clocks and intake shows them; both feed the same events
through `TicketClocks.apply`, so the two views agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from shared.messages import tickets as ev
from shared.messages.common import Payload
from shared.sla.calendar import Calendar
from shared.sla.clock import Clock
from shared.sla.contracts import Contract

ContractClock = Literal["first_response", "resolution"]


class TicketClocks(BaseModel):
    first_response: Clock | None = None
    resolution: Clock | None = None

    @classmethod
    def started(cls, contract: Contract, priority: str, submitted_at: datetime) -> TicketClocks:
        """Both clocks running since the submission."""
        return cls(
            first_response=Clock.started(contract.target_s(priority, "first_response"), submitted_at),
            resolution=Clock.started(contract.target_s(priority, "resolution"), submitted_at),
        )

    def items(self) -> list[tuple[ContractClock, Clock]]:
        return [(name, clock) for name, clock in (("first_response", self.first_response), ("resolution", self.resolution)) if clock]

    def apply(self, data: Payload, at: datetime, calendar: Calendar) -> None:
        """Move the clocks as the fact `data`, which happened at `at`, requires."""
        fr, res = self.first_response, self.resolution
        match data:
            case ev.TicketCommented(internal=False) | ev.InfoRequested():
                if fr:
                    fr.stop(at, calendar)
                if isinstance(data, ev.InfoRequested) and res:
                    res.pause(at, calendar)  # waiting on the requester
            case ev.RequesterReplied():
                if res:
                    res.resume(at)
            case ev.TicketResolved() | ev.TicketClosed():
                for clock in (fr, res):
                    if clock:
                        clock.stop(at, calendar)
            case ev.TicketReopened():
                if res:
                    res.accrued_s = 0.0  # a reopened ticket gets a fresh resolution target
                    res.restart(at)

    def view(self, now: datetime, calendar: Calendar) -> dict[str, dict]:
        """Every clock as a person reads it."""
        return {name: clock.view(now, calendar) for name, clock in self.items()}
