"""The rules of a submission: its fingerprint, the ticket it creates and the fact it records.

Plain Python; no framework, no I/O.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from shared.errors import Conflict
from shared.messages.common import TicketCore
from shared.messages.tickets import TicketSubmitted

from services.intake.submission.schemas import TicketCreate


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key sent again with a different request body."""


def fingerprint(body: TicketCreate) -> str:
    """A digest of the request body: an Idempotency-Key sent again must come with the same one."""
    return hashlib.sha256(orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()


def check_same_request(stored: str | None, fingerprint: str) -> None:
    """Refuse a repeated Idempotency-Key whose first request had another body."""
    if stored != fingerprint:
        raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request body")


def submitted(body: TicketCreate, *, ticket_id: str, now: datetime, integration_id: str | None = None) -> TicketSubmitted:
    """The fact of a submission, as triage and the audit trail read it: the body's core fields as they are."""
    return TicketSubmitted(
        ticket_id=ticket_id,
        submitted_at=now,
        integration_id=integration_id,
        callback_url=str(body.callback_url) if body.callback_url else None,
        **{name: getattr(body, name) for name in _FROM_THE_BODY},
    )


# The core fields (shared.messages.common.TicketCore) that the requester's body carries.
_FROM_THE_BODY = tuple(name for name in TicketCore.model_fields if name not in ("ticket_id", "submitted_at"))


def new_ticket(fact: TicketSubmitted, *, idempotency_key: str | None, fingerprint: str) -> dict[str, Any]:
    """The columns a submission sets on its new ticket, from its fact (the others keep the table's defaults)."""
    return {
        "id": fact.ticket_id,
        "title": fact.title,
        "description": fact.description,
        "requester_email": fact.requester.email,
        "requester_name": fact.requester.name,
        "language": fact.requester.language,
        "organization": fact.organization,
        "impact": fact.impact,
        "urgency": fact.urgency,
        "category_hint": fact.category_hint,
        "callback_url": fact.callback_url,
        "idempotency_key": idempotency_key,
        "request_hash": fingerprint,
        "created_at": fact.submitted_at,
        "updated_at": fact.submitted_at,
    }
