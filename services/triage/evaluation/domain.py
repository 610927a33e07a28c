"""Measuring triage: labelled tickets, accuracy, the confusion matrix, search quality.

Plain Python, no I/O: `services.triage.evaluation.evaluate` feeds it decisions and prints the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field

from shared.messages.common import Category, Language, Specialty, TierNumber

CATEGORIES: tuple[str, ...] = get_args(Category)


class LabelledTicket(BaseModel):
    """A ticket and what a senior dispatcher would decide for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    description: str
    language: Language
    category: Category
    tier: TierNumber
    specialty: Specialty | None = None
    hint: Category | None = None
    ambiguous: bool = False
    holdout: bool = False


class LabelledSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tickets: list[LabelledTicket] = Field(min_length=1)


class SearchQuestion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    language: Language
    q: str


@dataclass(frozen=True)
class Verdict:
    """One ticket: what was expected, what triage decided."""

    ticket: LabelledTicket
    category: str
    tier: int
    specialty: str | None

    @property
    def category_ok(self) -> bool:
        return self.category == self.ticket.category

    @property
    def tier_ok(self) -> bool:
        return self.tier == self.ticket.tier

    @property
    def route_ok(self) -> bool:
        return self.tier_ok and self.specialty == self.ticket.specialty


@dataclass(frozen=True)
class Scores:
    count: int
    category: float
    tier: float
    route: float  # tier and specialty both right


def scores(verdicts: list[Verdict]) -> Scores:
    """Accuracies over `verdicts` (0 when there are none)."""
    n = len(verdicts)

    def share(ok: int) -> float:
        return ok / n if n else 0.0

    return Scores(
        count=n,
        category=share(sum(v.category_ok for v in verdicts)),
        tier=share(sum(v.tier_ok for v in verdicts)),
        route=share(sum(v.route_ok for v in verdicts)),
    )


def confusion(verdicts: list[Verdict]) -> dict[tuple[str, str], int]:
    """How often each expected category (first) was decided as each category (second)."""
    return dict(Counter((v.ticket.category, v.category) for v in verdicts))


def format_confusion(matrix: dict[tuple[str, str], int]) -> str:
    """The confusion matrix as text: rows expected, columns decided, only categories that occur."""
    used = [c for c in CATEGORIES if any(c in pair for pair in matrix)]
    width = max(len(c) for c in used) if used else 8
    header = " " * (width + 2) + " ".join(f"{c[:5]:>5}" for c in used)
    rows = [header]
    for expected in used:
        cells = " ".join(f"{matrix.get((expected, decided), 0) or '.':>5}" for decided in used)
        rows.append(f"{expected:<{width}}  {cells}")
    return "\n".join(rows)


def top_k_share(ranks: dict[str, int | None], k: int = 3) -> float:
    """The share of questions whose article came back within the first `k` (rank 1 is first)."""
    found = sum(1 for rank in ranks.values() if rank is not None and rank <= k)
    return found / len(ranks) if ranks else 0.0
