"""One SLA clock: a target in open seconds, accrued across pauses, stopped once met."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.sla.calendar import Calendar


class Clock(BaseModel):
    """Serializable state of a clock; the arithmetic takes the calendar as an argument."""

    model_config = ConfigDict(extra="ignore")

    target_s: float
    accrued_s: float = 0.0  # open seconds counted before `running_since`
    running_since: datetime | None = None
    stopped_at: datetime | None = None
    warned: bool = False  # fired once per cycle; a new cycle (reopen) re-arms them
    breached: bool = False
    cycle: int = 0

    @classmethod
    def started(cls, target_s: float, at: datetime) -> Clock:
        return cls(target_s=target_s, running_since=at)

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def paused(self) -> bool:
        return self.running_since is None and self.stopped_at is None

    def elapsed_s(self, now: datetime, calendar: Calendar) -> float:
        """Open seconds used so far."""
        if self.running_since is None:
            return self.accrued_s
        return self.accrued_s + calendar.seconds_between(self.running_since, now)

    def due_at(self, calendar: Calendar, share: float = 1.0) -> datetime | None:
        """When `share` of the target is used, if the clock keeps running (None when paused or stopped)."""
        if self.running_since is None:
            return None
        return calendar.add(self.running_since, max(0.0, share * self.target_s - self.accrued_s))

    def pause(self, at: datetime, calendar: Calendar) -> None:
        if self.running_since is not None:
            self.accrued_s = self.elapsed_s(at, calendar)
            self.running_since = None

    def resume(self, at: datetime) -> None:
        if self.running_since is None and self.stopped_at is None:
            self.running_since = at

    def stop(self, at: datetime, calendar: Calendar) -> None:
        if self.stopped_at is None:
            self.pause(at, calendar)
            self.stopped_at = at

    def restart(self, at: datetime) -> None:
        """Run again after a stop (a reopened ticket): a new cycle, alarms re-armed."""
        self.stopped_at = None
        self.running_since = at
        self.cycle += 1
        self.warned = self.breached = False

    def view(self, now: datetime, calendar: Calendar) -> dict:
        """What a person reads of the clock: target, due time, elapsed, remaining, paused, breached."""
        elapsed = self.elapsed_s(now, calendar)
        return {
            "target_s": self.target_s,
            "due_at": self.due_at(calendar),
            "elapsed_s": round(elapsed, 3),
            "remaining_s": round(max(0.0, self.target_s - elapsed), 3),
            "paused": self.paused,
            "stopped": self.stopped_at is not None,
            "breached": self.breached or elapsed >= self.target_s,
        }
