"""The rules of a submission: its fingerprint, the ticket it creates and the fact it records.

Plain Python; no framework, no I/O.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson

from shared.errors import Conflict
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


def new_ticket(
    body: TicketCreate, *, ticket_id: str, idempotency_key: str | None, fingerprint: str, now: datetime
) -> dict[str, Any]:
    """The columns a submission sets on its new ticket (the others keep the table's defaults)."""
    return {
        "id": ticket_id,
        "title": body.title,
        "description": body.description,
        "requester_email": body.requester.email,
        "requester_name": body.requester.name,
        "language": body.requester.language,
        "organization": body.organization,
        "impact": body.impact,
        "urgency": body.urgency,
        "category_hint": body.category_hint,
        "callback_url": str(body.callback_url) if body.callback_url else None,
        "idempotency_key": idempotency_key,
        "request_hash": fingerprint,
        "created_at": now,
        "updated_at": now,
    }


def submitted(ticket: dict[str, Any], body: TicketCreate) -> TicketSubmitted:
    """The fact of the submission of `ticket`, as triage and the audit trail read it."""
    return TicketSubmitted(
        ticket_id=ticket["id"],
        title=body.title,
        description=body.description,
        requester=body.requester,
        organization=body.organization,
        impact=body.impact,
        urgency=body.urgency,
        category_hint=body.category_hint,
        callback_url=ticket["callback_url"],
        submitted_at=ticket["created_at"],
    )
