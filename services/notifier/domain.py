"""What every feature of notifier says of a delivery and an event. Plain Python; no framework, no I/O.

Shared on purpose: fan-out plans deliveries of a channel, the dispatcher holds them pending and
hands each to its channel, which answers with a send failure or none; subscriptions cancel theirs;
the webhook body and the stream message are one event body. Rules of one feature live in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.messages.common import Payload


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


@dataclass(frozen=True, slots=True)
class SendFailure:
    """Why a delivery did not go; a permanent failure is not worth retrying."""

    error: str
    permanent: bool = False
