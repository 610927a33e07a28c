"""The words every feature of notifier shares: a delivery's channel and status, and an event's body.

Plain Python; no framework, no I/O. Kept here, above the features, because each of them speaks
it: fan-out plans deliveries on a channel, the dispatcher holds them as `PendingDelivery` and
hands each to its channel, which answers with a `SendFailure` or none; subscriptions cancel
theirs by status; a webhook's body and a stream message are the same `event_body`. A rule that
belongs to one feature lives in that feature's own domain.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # attempts ran out, or the target can never take it: replay with POST /deliveries/{id}/retry
    CANCELLED = "cancelled"  # its subscription was deleted


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


# The endpoint of every e-mail: the dispatcher shares out the SMTP server as it does one webhook host.
SMTP_ENDPOINT = "smtp"


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


def event_body(*, event_id: str, event_type: str, time: datetime, ticket_id: str, data: dict) -> dict[str, Any]:
    """The JSON body of a webhook call and of a stream message."""
    return {
        "id": event_id,
        "type": event_type,
        "time": time.astimezone(UTC).isoformat(),
        "ticket_id": ticket_id,
        "data": data,
    }


@dataclass(frozen=True, slots=True)
class SendFailure:
    """Why a delivery did not go; a permanent failure is not worth retrying."""

    error: str
    permanent: bool = False
