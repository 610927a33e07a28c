"""The rules of integrations: their API keys, the severity mapping, and what each event does.

Plain Python; no framework, no I/O. `decide` says what an event does to the alert's ticket,
as intake sees it; the handlers carry it out in one unit of work.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.auth import API_KEY_PREFIX
from shared.errors import Conflict, NotFound
from shared.lifecycle import OPEN, Status
from shared.messages import tickets as ev

from services.intake.submission.schemas import TicketCreate

# What each severity stands for when an integration does not say (documented in docs/api.md).
DEFAULT_SEVERITY_MAP: dict[str, dict[str, str]] = {
    "critical": {"impact": "high", "urgency": "high"},
    "error": {"impact": "medium", "urgency": "high"},
    "warning": {"impact": "medium", "urgency": "medium"},
    "info": {"impact": "low", "urgency": "low"},
}
_TITLE_MAX = 200  # shared.messages.common.Title


class UnknownAlert(NotFound):
    """An acknowledge or resolve for a dedup_key this integration never triggered."""


class AlreadyRevoked(Conflict):
    """A revoke of an integration whose key is already revoked."""


class Outcome(StrEnum):
    CREATED = "created"
    REPEATED = "repeated"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    ACKNOWLEDGED = "acknowledged"


def new_api_key() -> str:
    """A fresh API key: the recognisable prefix and 256 random bits."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    """What is stored of a key. A plain digest suffices: the key is random, not a password."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_hint(key: str) -> str:
    """Enough of a key to tell it apart in a list, never enough to use it."""
    return key[: len(API_KEY_PREFIX) + 4] + "…"


def severity_map(overrides: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The integration's mapping: the defaults, with the severities it names replaced."""
    return {**DEFAULT_SEVERITY_MAP, **overrides}


@dataclass(frozen=True, slots=True)
class Source:
    """What an event's ticket needs to know of the integration that sent it."""

    id: str
    name: str
    organization: str
    contact_email: str
    contact_name: str
    language: str
    category_hint: str | None
    severity_map: dict[str, dict[str, str]]
    alertmanager: dict[str, Any] = field(default_factory=dict)  # schemas.AlertmanagerMapping, as stored


def ticket_body(source: Source, *, summary: str, category_hint: str | None, severity: str, origin: str, component: str,
                custom_details: dict[str, Any], links: list[tuple[str, str]], dedup_key: str) -> TicketCreate:
    """The ticket a new alert opens: its summary as the title, the whole event as the description."""
    mapping = severity_map(source.severity_map)[severity]
    title = summary if len(summary) <= _TITLE_MAX else summary[: _TITLE_MAX - 1] + "…"
    lines = [summary, "", f"Raised by integration {source.name} (severity {severity}, dedup_key {dedup_key})."]
    lines += [f"{label}: {value}" for label, value in (("Source", origin), ("Component", component)) if value]
    if custom_details:
        lines += ["", "Details:", json.dumps(custom_details, indent=2, sort_keys=True, default=str)]
    lines += [f"Link: {text + ' ' if text else ''}{href}" for href, text in links]
    return TicketCreate(
        title=title,
        description="\n".join(lines)[:20_000],
        requester={"email": source.contact_email, "name": source.contact_name, "language": source.language},
        organization=source.organization,
        impact=mapping["impact"],
        urgency=mapping["urgency"],
        category_hint=category_hint or source.category_hint,
    )


@dataclass(frozen=True, slots=True)
class TicketNow:
    """What the rules read of an alert's ticket in intake's view."""

    status: str
    resolved_at: datetime | None


def decide(action: str, ticket: TicketNow | None, *, known: bool, now: datetime, window: timedelta) -> Outcome:
    """What an event does: a trigger opens, repeats or reopens; acknowledge and resolve need a known key."""
    if action == "trigger":
        if ticket is None:
            return Outcome.CREATED
        status = Status(ticket.status)
        if status in OPEN:
            return Outcome.REPEATED
        if status == Status.RESOLVED and now <= (ticket.resolved_at or now) + window:
            return Outcome.REOPENED
        return Outcome.CREATED  # closed, or resolved longer ago than the window: a new incident
    if not known or ticket is None:
        raise UnknownAlert("no alert with this dedup_key from this integration")
    if action == "acknowledge":
        return Outcome.ACKNOWLEDGED
    return Outcome.RESOLVED


def needs_resolving(ticket: TicketNow) -> bool:
    """Whether a resolve changes anything: monitoring systems send theirs again, which is no error."""
    return Status(ticket.status) in OPEN


def resolved_by_source(ticket_id: str, tier: int | None, *, source: Source, words: str | None) -> ev.TicketResolved:
    """The resolution a monitoring system reports, at the level the ticket had reached (0 before routing)."""
    said = f": {words}" if words else ""
    return ev.TicketResolved(
        ticket_id=ticket_id,
        level=tier or 0,
        resolution=f"Resolved by integration {source.name}{said}",
        by=f"integration:{source.name}",
        from_source=True,
    )


def repeated(ticket_id: str, *, source: Source, dedup_key: str, occurrences: int, summary: str,
             severity: str) -> ev.AlertRepeated:
    """One more occurrence of an alert whose ticket is still open."""
    return ev.AlertRepeated(
        ticket_id=ticket_id, integration_id=source.id, dedup_key=dedup_key, occurrences=occurrences,
        summary=summary, severity=severity,
    )
