"""The dispatcher's rules: which lane a delivery waits in, and when a failed one is tried again.

Plain Python; no framework, no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.notifier.domain import DeliveryStatus

# Past this many doublings the ceiling is far above any sane cap; stops float overflow.
_MAX_DOUBLINGS = 62


def lane_of(target: str, ticket_id: str) -> str:
    """The lane of a delivery: its target and its ticket; order holds within a lane only."""
    return f"{target}|{ticket_id}"


def backoff_ceiling(attempts: int, *, base_s: float, max_s: float) -> float:
    """The longest wait after `attempts` failed calls: base doubled each time, capped at max_s."""
    doublings = min(max(attempts - 1, 0), _MAX_DOUBLINGS)
    return min(max_s, base_s * 2.0**doublings)


def backoff_delay(
    attempts: int, *, base_s: float, max_s: float, rand: Callable[[], float] = random.random
) -> float:
    """The wait before the next call: full jitter, uniform in [0, ceiling), so retries spread out."""
    return rand() * backoff_ceiling(attempts, base_s=base_s, max_s=max_s)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int
    base_s: float
    max_s: float


@dataclass(frozen=True, slots=True)
class FailureOutcome:
    attempts: int
    status: DeliveryStatus
    next_attempt_at: datetime


def after_failure(
    attempts_before: int,
    *,
    now: datetime,
    policy: RetryPolicy,
    permanent: bool = False,
    rand: Callable[[], float] = random.random,
) -> FailureOutcome:
    """A delivery's state after one more failed call: retried later, or dead once attempts run out
    (at once if the failure is permanent: a refused target, a mailbox that does not exist)."""
    attempts = attempts_before + 1
    if permanent or attempts >= policy.max_attempts:
        return FailureOutcome(attempts, DeliveryStatus.DEAD, now)
    delay = backoff_delay(attempts, base_s=policy.base_s, max_s=policy.max_s, rand=rand)
    return FailureOutcome(attempts, DeliveryStatus.PENDING, now + timedelta(seconds=delay))
