"""What `escalier watch` shows, folded from `tickets.events`: plain Python, no terminal, no Kafka.

Each ticket's tier and status follow its events (routed, assigned, info requested, replied,
escalated, resolved, reopened, closed), so the queues need no token and no service.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime

from shared.lifecycle import OPEN
from shared.messages.envelope import Envelope

QUEUE_STATUSES = ("queued", "in_progress", "waiting_on_requester")


@dataclass(frozen=True)
class Filters:
    """Empty sets let everything through."""

    organizations: frozenset[str] = frozenset()
    tiers: frozenset[int] = frozenset()
    types: frozenset[str] = frozenset()


@dataclass
class _Ticket:
    organization: str
    title: str
    status: str = "new"
    tier: int | None = None
    priority: str | None = None


@dataclass(frozen=True)
class Row:
    """One line of the event stream."""

    time: datetime
    type: str
    ticket_id: str
    organization: str
    tier: int | None
    what: str


@dataclass
class WatchState:
    filters: Filters = field(default_factory=Filters)
    keep: int = 30
    tickets: dict[str, _Ticket] = field(default_factory=dict)
    seen: Counter = field(default_factory=Counter)  # event types shown, since the start of the topic

    def __post_init__(self) -> None:
        self.recent: deque[Row] = deque(maxlen=self.keep)

    def add(self, event: Envelope) -> None:
        """Fold one event into the tickets' state and, if it passes the filters, into the stream."""
        ticket = self._follow(event)
        if ticket is None:
            return
        tier = _tier_of(event) or ticket.tier
        f = self.filters
        if (f.organizations and ticket.organization not in f.organizations) or (f.tiers and tier not in f.tiers) \
                or (f.types and event.type not in f.types):
            return
        self.seen[event.type] += 1
        self.recent.append(Row(event.time, event.type, event.subject, ticket.organization, tier, describe(event, ticket)))

    def queues(self) -> dict[int, Counter]:
        """Open tickets per tier and status, for the organizations (and tiers) the filters keep."""
        out: dict[int, Counter] = {t: Counter() for t in (1, 2, 3) if not self.filters.tiers or t in self.filters.tiers}
        for ticket in self.tickets.values():
            if ticket.tier in out and ticket.status in {s.value for s in OPEN} and (
                not self.filters.organizations or ticket.organization in self.filters.organizations
            ):
                out[ticket.tier][ticket.status] += 1
        return out

    def _follow(self, event: Envelope) -> _Ticket | None:
        data = event.data
        if event.type == "ticket.submitted":
            self.tickets.setdefault(event.subject, _Ticket(data.organization, data.title))
        ticket = self.tickets.get(event.subject)
        if ticket is None:  # submitted before the retained history, or not a ticket event
            return None
        match event.type:
            case "ticket.routed":
                ticket.tier, ticket.status, ticket.priority = data.tier, "queued", data.priority
            case "ticket.assigned":
                ticket.status = "in_progress"
            case "ticket.info_requested":
                ticket.status = "waiting_on_requester"
            case "ticket.requester_replied" if ticket.status == "waiting_on_requester":
                ticket.status = "in_progress"
            case "ticket.escalated":
                ticket.tier, ticket.status = data.to_tier, "queued"
            case "ticket.resolved":
                ticket.status = "resolved"
            case "ticket.reopened":
                ticket.tier, ticket.status = data.tier or ticket.tier or 1, "in_progress"
            case "ticket.closed":
                ticket.status = "closed"
        return ticket


def _tier_of(event: Envelope) -> int | None:
    data = event.data
    return getattr(data, "to_tier", None) or getattr(data, "tier", None)


def describe(event: Envelope, ticket: _Ticket) -> str:
    """A few words on what happened."""
    d = event.data
    match event.type:
        case "ticket.submitted":
            return d.title[:60]
        case "ticket.triaged":
            return f"{d.category} {d.priority} -> tier {d.tier}"
        case "ticket.routed":
            return f"queued at tier {d.tier} ({d.priority})"
        case "ticket.assigned":
            return f"claimed by {d.assignee}"
        case "ticket.escalated":
            return f"{d.from_tier}->{d.to_tier}{' automatic' if d.automatic else ''}: {d.reason[:40]}"
        case "ticket.sla_warning" | "ticket.sla_breached":
            return f"{d.clock}" + (f" ({d.action})" if event.type == "ticket.sla_breached" else "")
        case "ticket.resolved":
            return f"at level {d.level}" + (f" by {d.by}" if d.by else "")
        case "ticket.rated":
            return f"score {d.score}"
        case "ticket.info_requested":
            return f"{d.author} asks: {d.question[:40]}"
        case "ticket.requester_replied":
            return f"replied: {d.body[:40]}"
        case "ticket.commented":
            return f"{d.author}{' (internal)' if d.internal else ''}: {d.body[:40]}"
    return ""
