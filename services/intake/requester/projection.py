"""Intake's rules: how each fact of `tickets.events` changes the requester's view.

Plain Python; no framework, no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.lifecycle import Status
from shared.messages import tickets as ev
from shared.messages.common import Payload
from shared.sla.clocks import TicketClocks
from shared.sla.contracts import Contract


def view_changes(event_type: str, data: Payload, status: str, assignee: str | None = None) -> dict[str, Any]:
    """The fields of the requester's view that `data` changes (empty if none); `status` and
    `assignee` are the view's before it."""
    match data:
        case ev.TicketTriaged():
            return {"category": data.category, "priority": data.priority, "specialty": data.specialty}
        case ev.ArticlesSuggested():
            return {"suggested_articles": [a.model_dump(mode="json") for a in data.articles]}
        case ev.TicketRouted():
            return {"status": Status.QUEUED, "tier": data.tier, "priority": data.priority, "specialty": data.specialty}
        case ev.TicketAssigned():
            return {"status": Status.IN_PROGRESS, "tier": data.tier, "assignee": data.assignee}
        case ev.InfoRequested():
            return {"status": Status.WAITING_ON_REQUESTER}
        case ev.RequesterReplied() if status == Status.WAITING_ON_REQUESTER:
            return {"status": Status.IN_PROGRESS}
        case ev.TicketEscalated():
            return {"status": Status.QUEUED, "tier": data.to_tier, "assignee": None, "specialty": data.specialty}
        case ev.TicketResolved():
            return {"status": Status.RESOLVED, "level": data.level}
        case ev.TicketReopened():
            # As the tier does: back to the agent who resolved it, or to the queue if there was none.
            reopened = Status.IN_PROGRESS if assignee else Status.QUEUED
            return {"status": reopened, "level": None, **({"tier": data.tier} if data.tier else {})}
        case ev.TicketClosed():
            return {"status": Status.CLOSED}
    return {}


# What only the latest fact may set: a fact arriving after a later one (a late `ticket.assigned`
# after `ticket.resolved`) must not roll these back. Each field keeps the event time that set it.
LATEST_WINS = frozenset({"status", "tier", "assignee", "level", "specialty", "priority", "resolved_at"})


def in_order(changes: dict[str, Any], at: datetime, stamps: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The changes a fact stamped `at` may make, and the fields' stamps after it.

    A field set by a later fact keeps its value; one never set, or set by an earlier fact, takes this one's.
    """
    applied, after = {}, dict(stamps)
    for name, value in changes.items():
        if name in LATEST_WINS:
            if name in stamps and at < datetime.fromisoformat(stamps[name]):
                continue
            after[name] = at.isoformat()
        applied[name] = value
    return applied, after


def is_late(at: datetime, stamps: dict[str, str]) -> bool:
    """Whether a fact stamped `at` is older than the one that set the status the view shows."""
    return "status" in stamps and at < datetime.fromisoformat(stamps["status"])


def moves_clocks(data: Payload, *, late: bool, sla: dict) -> bool:
    """Whether a fact moves the SLA clocks: in order, or a late triage that starts them."""
    return not late or (isinstance(data, ev.TicketTriaged) and not sla)


def clocks_after(sla: dict, data: Payload, at: datetime, *, contract: Contract, submitted_at: datetime) -> dict:
    """The contract clocks after the fact `data`: started at triage, then moved as the tiers move them."""
    if isinstance(data, ev.TicketTriaged):
        return TicketClocks.started(contract, data.priority, submitted_at).model_dump(mode="json")
    if not sla:
        return sla
    clocks = TicketClocks.model_validate(sla)
    clocks.apply(data, at, contract.calendar)
    return clocks.model_dump(mode="json")


def sla_view(sla: dict, now: datetime, contract: Contract) -> dict:
    """Every clock as the requester reads it: target, due time, elapsed, remaining, paused, breached."""
    return TicketClocks.model_validate(sla).view(now, contract.calendar) if sla else {}
