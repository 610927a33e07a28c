"""Notifier's rules: what a requester sees of an event, when to retry.

Plain Python; no framework, no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.messages.common import Payload

# Past this many doublings the ceiling is far above any sane cap; stops float overflow.
_MAX_DOUBLINGS = 62


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # attempts ran out, or the target can never take it: replay with POST /deliveries/{id}/retry
    CANCELLED = "cancelled"  # its subscription was deleted


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


@dataclass(slots=True)
class PendingDelivery:
    """A delivery the dispatcher holds until it is sent: the ledger's row, without the ORM.

    Handed over as its fan-out commits, or read by a rescan; `attempts` and `next_attempt_at`
    change here as attempts fail (the ledger records them in bulk).
    """

    id: int
    event_id: str
    ticket_id: str
    channel: str
    target: str
    lane: str
    endpoint: str
    subscription_id: str | None
    url: str
    body: dict[str, Any]
    message: dict[str, str] | None
    attempts: int
    next_attempt_at: datetime


PENDING_FIELDS: tuple[str, ...] = tuple(PendingDelivery.__dataclass_fields__)


def public_data(data: Payload) -> dict[str, Any]:
    """What a requester may read of an event: the payload without hand-off snapshots."""
    return data.model_dump(mode="json", exclude={"snapshot"})


def event_body(*, event_id: str, event_type: str, time: datetime, ticket_id: str, data: dict) -> dict[str, Any]:
    """The JSON body of a webhook call and of a stream message."""
    return {
        "id": event_id,
        "type": event_type,
        "time": time.astimezone(UTC).isoformat(),
        "ticket_id": ticket_id,
        "data": data,
    }


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
class SendFailure:
    """Why a delivery did not go; a permanent failure is not worth retrying."""

    error: str
    permanent: bool = False


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
