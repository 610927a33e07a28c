"""The requester's rules: how each fact of `tickets.events` changes their view of a ticket, and
what they may do with it after submitting (reply, reopen, rate, resolve it with an article); and auto-close.

Plain Python; no framework, no I/O. Each verb checks the ticket as intake sees it and
returns the fact it causes, or raises the broken rule (409 with the reason).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.errors import Conflict
from shared.lifecycle import Action, IllegalTransition, Status, next_status
from shared.messages import tickets as ev
from shared.messages.common import Payload
from shared.sla.clocks import TicketClocks
from shared.sla.contracts import Contract
from shared.topics import TIER_TOPICS

CLOSED_REASON = "the ticket is closed; submit a new ticket"


class CannotReply(Conflict):
    """A reply to a ticket that is no longer worked."""


class CannotReopen(Conflict):
    """A reopen of a ticket that is not resolved."""


class ReopenWindowPassed(Conflict):
    """A reopen after the window that follows the resolution."""


class CannotRate(Conflict):
    """A rating of a ticket that is not resolved yet."""


class AlreadyRated(Conflict):
    """A second rating of the same resolution."""


class TicketState(Protocol):
    """What the rules read of a ticket (intake's IntakeTicket has these fields)."""

    id: str
    status: str
    assignee: str | None
    level: int | None
    resolved_at: datetime | None
    resolution_count: int
    rated_resolution: int
    tiers_visited: list


def reply(ticket: TicketState, body: str) -> ev.RequesterReplied:
    """A message to the agents; it answers a pending question and resumes the clock."""
    status = Status(ticket.status)
    if status == Status.RESOLVED:
        raise CannotReply("the ticket is resolved: reopen it to tell us the problem is back")
    if status == Status.CLOSED:
        raise CannotReply(CLOSED_REASON)
    next_status(status, Action.REQUESTER_REPLY)
    return ev.RequesterReplied(ticket_id=ticket.id, body=body)


def reopen(ticket: TicketState, reason: str, *, now: datetime, window: timedelta) -> ev.TicketReopened:
    """Back to the tier that resolved it (tier 1 after a level-0 resolution), within `window` of the resolution."""
    status = Status(ticket.status)
    try:
        next_status(status, Action.REOPEN)
    except IllegalTransition as exc:
        if status == Status.CLOSED:
            raise CannotReopen(CLOSED_REASON) from exc
        now_is = status.value.replace("_", " ")
        raise CannotReopen(f"the ticket is not resolved (it is {now_is}): reply to it instead") from exc
    resolved_at = ticket.resolved_at or now
    if now > resolved_at + window:
        raise ReopenWindowPassed(
            f"the ticket was resolved on {resolved_at:%Y-%m-%d %H:%M} UTC and can be reopened only within "
            f"{human_duration(window)} of its resolution; submit a new ticket"
        )
    return ev.TicketReopened(ticket_id=ticket.id, tier=reopen_tier(ticket.level), reason=reason)


def reopen_tier(level: int | None) -> int:
    """The tier a reopened ticket goes back to: the one that resolved it, or tier 1 after self-service."""
    return level if level in TIER_TOPICS else 1


def rate(ticket: TicketState, score: int, comment: str) -> ev.TicketRated:
    """The requester's satisfaction with this resolution, with the tiers the ticket went through."""
    status = Status(ticket.status)
    if status not in (Status.RESOLVED, Status.CLOSED):
        raise CannotRate("the ticket is not resolved yet: rate it once it is")
    if ticket.rated_resolution >= current_resolution(ticket):
        raise AlreadyRated("this resolution was already rated; a ticket is rated once per resolution")
    return ev.TicketRated(ticket_id=ticket.id, score=score, comment=comment, tiers=list(ticket.tiers_visited))


def current_resolution(ticket: TicketState) -> int:
    """The number of the ticket's latest resolution (1 for a resolved ticket projected before counting)."""
    return max(ticket.resolution_count, 1)


def self_resolve(ticket: TicketState, article_id: str, *, by: str) -> ev.TicketResolved:
    """Resolved at level 0 by the requester with the article that helped; refused once resolved or closed."""
    next_status(Status(ticket.status), Action.SELF_RESOLVE)
    return ev.TicketResolved(
        ticket_id=ticket.id,
        level=0,
        resolution=f"Resolved by the requester with knowledge-base article {article_id}.",
        article_id=article_id,
        by=by,
    )


def auto_close_due(ticket: TicketState, *, now: datetime, grace: timedelta) -> bool:
    """Whether a resolved ticket has waited out its grace period without being reopened."""
    return ticket.status == Status.RESOLVED and ticket.resolved_at is not None and now >= ticket.resolved_at + grace


def auto_close(ticket: TicketState) -> ev.TicketClosed:
    """The automatic close of a resolved ticket after its grace period."""
    next_status(Status(ticket.status), Action.CLOSE)
    return ev.TicketClosed(ticket_id=ticket.id, reason="automatic")


def follow_up_changes(ticket: TicketState, data: Payload, at: datetime) -> dict[str, Any]:
    """What the rules above need to remember of a fact: resolutions and the tiers visited."""
    match data:
        case ev.TicketResolved():
            return {"resolved_at": at, "resolution_count": ticket.resolution_count + 1}
        case ev.TicketReopened():
            return {"resolved_at": None, **_visit(ticket, data.tier)}
        case ev.TicketRouted():
            return _visit(ticket, data.tier)
        case ev.TicketEscalated():
            return _visit(ticket, data.to_tier)
    return {}


def _visit(ticket: TicketState, tier: int | None) -> dict[str, Any]:
    if tier is None or tier in ticket.tiers_visited:
        return {}
    return {"tiers_visited": [*ticket.tiers_visited, tier]}


def projected_changes(ticket: TicketState, event_type: str, data: Payload, at: datetime) -> dict[str, Any]:
    """What a fact read from `tickets.events` changes in the requester's view, stamped `at`."""
    return {
        **view_changes(event_type, data, ticket.status, ticket.assignee),
        **follow_up_changes(ticket, data, at),
    }


def action_changes(ticket: TicketState, event_type: str, data: Payload, at: datetime) -> dict[str, Any]:
    """What a fact intake causes itself (a requester's action, an auto-close) changes in the view at once.

    The projection applies the fact again when it comes back from the bus, so what must be counted
    once is left to it: a resolution's count and time (its commit also wakes the auto-close loop).
    """
    if isinstance(data, ev.TicketResolved):
        return view_changes(event_type, data, ticket.status, ticket.assignee)
    changes = projected_changes(ticket, event_type, data, at)
    if isinstance(data, ev.TicketRated):
        changes["rated_resolution"] = current_resolution(ticket)
    return changes


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


def human_duration(span: timedelta) -> str:
    """A duration in the largest whole unit that fits: "7 days", "36 hours", "90 seconds"."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
