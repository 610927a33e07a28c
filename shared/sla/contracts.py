"""Organizations' SLA contracts, read from a YAML file (see contracts.yaml beside this module)."""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.sla.calendar import Calendar

DEFAULT_FILE = Path(__file__).with_name("contracts.yaml")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|bd)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
PRIORITIES = ("P1", "P2", "P3", "P4")


def duration_s(value: float | int | str, business_day_s: float) -> float:
    """Seconds of a duration: a number of seconds, or '90s', '15m', '4h', '1d', '2bd' (business days)."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r} (use seconds, or 15m, 4h, 1d, 2bd)")
    amount, unit = float(match[1]), match[2] or "s"
    return amount * (business_day_s if unit == "bd" else _UNIT_S[unit])


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first_response: float | str
    resolution: float | str


class Contract(BaseModel):
    """One organization's contract: coverage, targets per priority, tier budgets, escalation contact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    coverage: Literal["24x7", "business_hours"] = "24x7"
    timezone: str = "UTC"
    weekdays: list[str] = ["mon", "tue", "wed", "thu", "fri"]
    hours: str = "09:00-17:00"
    holidays: list[date] = []
    targets: dict[str, Targets]
    tier_budget: dict[int, float] = Field(default_factory=lambda: {1: 0.25, 2: 0.35, 3: 0.4})
    warning_share: float = Field(default=0.75, gt=0, lt=1)
    escalation_contact: str | None = None
    reminder_interval: float | str = "30m"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("weekdays")
    @classmethod
    def _known_days(cls, value: list[str]) -> list[str]:
        unknown = [d for d in value if d.lower()[:3] not in _WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown weekdays {unknown}; use mon..sun")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Contract:
        missing = [p for p in PRIORITIES if p not in self.targets]
        if missing:
            raise ValueError(f"contract {self.name!r} has no targets for {', '.join(missing)}")
        _ = self.opening_hours  # validates the format
        for target in self.targets.values():
            duration_s(target.first_response, 1), duration_s(target.resolution, 1)
        return self

    @property
    def opening_hours(self) -> tuple[time, time]:
        opens, _, closes = self.hours.partition("-")
        start, end = time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip())
        if end <= start:
            raise ValueError(f"hours {self.hours!r}: closing must come after opening")
        return start, end

    @property
    def calendar(self) -> Calendar:
        if self.coverage == "24x7":
            return Calendar()
        opens, closes = self.opening_hours
        return Calendar(
            timezone=ZoneInfo(self.timezone),
            weekdays=frozenset(_WEEKDAYS.index(d.lower()[:3]) for d in self.weekdays),
            opens=opens,
            closes=closes,
            holidays=frozenset(self.holidays),
        )

    def target_s(self, priority: str, clock: Literal["first_response", "resolution"]) -> float:
        """The target of a clock for a priority, in open seconds."""
        return duration_s(getattr(self.targets[priority], clock), self.calendar.business_day_s)

    def tier_budget_s(self, priority: str, tier: int) -> float:
        """The share of the resolution target that tier `tier` may use before escalation."""
        return self.tier_budget.get(tier, 1.0) * self.target_s(priority, "resolution")

    @property
    def reminder_interval_s(self) -> float:
        return duration_s(self.reminder_interval, self.calendar.business_day_s)


class Contracts:
    """Every organization's contract; organizations without one get `default`."""

    def __init__(self, contracts: dict[str, Contract]) -> None:
        if "default" not in contracts:
            raise ValueError("the contracts file must define a 'default' contract")
        self._contracts = contracts

    @classmethod
    def load(cls, path: Path | None = None) -> Contracts:
        """Read and validate a contracts file; the shipped one when `path` is None."""
        raw = yaml.safe_load((path or DEFAULT_FILE).read_text(encoding="utf-8")) or {}
        defaults = raw.get("defaults", {})
        contracts = {
            name: Contract.model_validate({**defaults, **(body or {}), "name": name})
            for name, body in (raw.get("contracts") or {}).items()
        }
        return cls(contracts)

    def for_organization(self, organization: str) -> Contract:
        return self._contracts.get(organization, self._contracts["default"])

    def all(self) -> list[Contract]:
        return list(self._contracts.values())
