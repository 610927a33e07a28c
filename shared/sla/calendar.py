"""Coverage calendars: 24x7, or business hours in a time zone with holidays.

All arithmetic is in aware datetimes; business windows are built per local day
with zoneinfo, so nights, weekends, holidays and daylight-saving changes hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MAX_DAYS = 3660  # no contract waits ten years; a bound keeps a bad calendar from looping forever


@dataclass(frozen=True)
class Calendar:
    """When the clock runs. `timezone=None` means around the clock (24x7)."""

    timezone: ZoneInfo | None = None
    weekdays: frozenset[int] = frozenset(range(5))  # Monday is 0
    opens: time = time(9)
    closes: time = time(17)
    holidays: frozenset[date] = frozenset()

    @property
    def always_open(self) -> bool:
        return self.timezone is None

    @property
    def business_day_s(self) -> float:
        """Seconds in one business day (a full day when always open)."""
        if self.always_open:
            return 86400.0
        return (datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)).total_seconds()

    def windows(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open windows (UTC) from the local day of `start` on, in order."""
        day = start.astimezone(self.timezone).date()
        for offset in range(_MAX_DAYS):
            current = day + timedelta(days=offset)
            if current.weekday() in self.weekdays and current not in self.holidays:
                opens = datetime.combine(current, self.opens, tzinfo=self.timezone).astimezone(UTC)
                closes = datetime.combine(current, self.closes, tzinfo=self.timezone).astimezone(UTC)
                yield opens, closes
        raise ValueError("calendar has no open window within ten years")

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Open seconds in [start, end)."""
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds()
        total = 0.0
        for opens, closes in self.windows(start):
            if opens >= end:
                break
            overlap = (min(closes, end) - max(opens, start)).total_seconds()
            total += max(0.0, overlap)
        return total

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant when `seconds` of open time have passed since `start`."""
        if self.always_open:
            return start + timedelta(seconds=seconds)
        remaining = max(0.0, seconds)
        for opens, closes in self.windows(start):
            begin = max(opens, start)
            if begin >= closes:
                continue
            available = (closes - begin).total_seconds()
            if remaining <= available:
                return begin + timedelta(seconds=remaining)
            remaining -= available
        raise ValueError("unreachable")  # windows() raises first
