"""The verdict of `escalier verify`: what intake accepted against every service's state and the event log.

Plain Python, no I/O: `escalier_cli/verify.py` gathers the facts, `reconcile` compares them.
The expected state of a ticket is folded here from the log on its own, not with intake's
projection code, so a bug in that code shows up as a difference instead of agreeing with itself.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

WORKABLE = ("queued", "in_progress", "waiting_on_requester")
OPEN = ("new", *WORKABLE)
# A waiting ticket's clocks are paused: it may have no alarm to fire.
NEEDS_TIMER = ("queued", "in_progress")


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One record of `tickets.events`, with what the fold needs of its payload."""

    id: str
    type: str
    time: datetime
    ticket_id: str
    public: bool = True
    tier: int | None = None  # routed/assigned: its tier; escalated: to_tier; reopened: its tier if any


@dataclass(frozen=True, slots=True)
class Accepted:
    """A ticket as intake holds it: accepted, and its requester's view."""

    id: str
    status: str
    tier: int | None
    resolution_count: int = 0
    timeline: tuple[str, ...] = ()  # event ids, as stored


@dataclass(frozen=True, slots=True)
class TierHolding:
    """A tier's row for a ticket."""

    tier: int
    ticket_id: str
    status: str
    here: bool
    has_timer: bool


@dataclass(frozen=True, slots=True)
class Expected:
    status: str
    tier: int | None
    resolutions: int
    public: tuple[str, ...]


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def lines(self, limit: int = 50) -> list[str]:
        """The counts, then the differences (the first `limit`), then the verdict."""
        out = [f"{name:<28}{value}" for name, value in self.counts.items()]
        out += [f"DIFF {d}" for d in self.differences[:limit]]
        if len(self.differences) > limit:
            out.append(f"... and {len(self.differences) - limit} more differences")
        out.append("OK: every accepted ticket is consistent" if self.ok else f"FAILED: {len(self.differences)} differences")
        return out


def ordered(events: list[LoggedEvent]) -> list[LoggedEvent]:
    """A ticket's distinct facts by event time (redeliveries dropped; log order breaks ties).

    Time, not log position: after the broker comes back empty, each service republishes
    its outbox in its own turn, so the log no longer holds one ticket's facts in order.
    """
    seen: dict[str, tuple[int, LoggedEvent]] = {}
    for position, event in enumerate(events):
        seen.setdefault(event.id, (position, event))
    return [e for _, e in sorted(seen.values(), key=lambda pe: (pe[1].time, pe[0]))]


def expected_state(events: list[LoggedEvent]) -> Expected:
    """The state a ticket's facts lead to, folded from the lifecycle of DESIGN.md."""
    status, tier, resolutions, public = "unknown", None, 0, []
    assigned = False  # a reopened ticket goes back to its agent, or to the queue if nobody had claimed it
    for e in ordered(events):
        if e.public:
            public.append(e.id)
        match e.type:
            case "ticket.submitted":
                status = "new"
            case "ticket.routed" | "ticket.escalated":
                status, tier, assigned = "queued", e.tier, False
            case "ticket.assigned":
                status, tier, assigned = "in_progress", e.tier, True
            case "ticket.info_requested":
                status = "waiting_on_requester"
            case "ticket.requester_replied" if status == "waiting_on_requester":
                status = "in_progress"
            case "ticket.resolved":
                status, resolutions = "resolved", resolutions + 1
            case "ticket.reopened":
                status, tier = "in_progress" if assigned else "queued", e.tier or tier
            case "ticket.closed":
                status = "closed"
    return Expected(status, tier, resolutions, tuple(public))


def reconcile(
    accepted: list[Accepted],
    holdings: list[TierHolding],
    log: list[LoggedEvent],
    notified: dict[str, list[str]] | None = None,
) -> Report:
    """Compare; `notified` is notifier's requester-visible event ids per ticket (None: not checked)."""
    report = Report()
    by_ticket: dict[str, list[LoggedEvent]] = defaultdict(list)
    for event in log:
        by_ticket[event.ticket_id].append(event)
    held: dict[str, list[TierHolding]] = defaultdict(list)
    for h in holdings:
        held[h.ticket_id].append(h)
    known = {t.id for t in accepted}

    statuses: Counter[str] = Counter()
    for ticket in accepted:
        statuses[ticket.status] += 1
        events = by_ticket.get(ticket.id, [])
        if not any(e.type == "ticket.submitted" for e in events):
            report.differences.append(f"{ticket.id}: accepted but its ticket.submitted is not in the log")
            continue
        expected = expected_state(events)
        report.differences += _compare_intake(ticket, expected)
        report.differences += _compare_tiers(ticket, held.get(ticket.id, []))
        if notified is not None:
            report.differences += _compare_ids(ticket.id, "notifier", notified.get(ticket.id, []), expected.public)

    strangers = sorted(set(by_ticket) - known)
    report.differences += [f"{t}: facts in the log for a ticket intake never accepted" for t in strangers[:20]]
    if len(strangers) > 20:
        report.differences.append(f"... {len(strangers) - 20} more tickets intake never accepted")
    strays = sorted({h.ticket_id for h in holdings} - known)
    report.differences += [f"{t}: held by a tier but never accepted by intake" for t in strays[:20]]

    distinct = {e.id for e in log}
    report.counts = {
        "accepted": len(accepted),
        **{f"  {s}": n for s, n in sorted(statuses.items())},
        "log records": len(log),
        "log distinct events": len(distinct),
        "log redeliveries": len(log) - len(distinct),
        "tier rows": len(holdings),
        "open without a timer": sum(1 for d in report.differences if "no SLA timer" in d),
        "differences": len(report.differences),
    }
    return report


def _compare_intake(ticket: Accepted, expected: Expected) -> list[str]:
    diffs = []
    if ticket.status != expected.status:
        diffs.append(f"{ticket.id}: intake says {ticket.status}, the log says {expected.status}")
    if ticket.tier != expected.tier:
        diffs.append(f"{ticket.id}: intake says tier {ticket.tier}, the log says tier {expected.tier}")
    if ticket.resolution_count != expected.resolutions:
        diffs.append(
            f"{ticket.id}: intake counted {ticket.resolution_count} resolutions, the log has {expected.resolutions}"
        )
    diffs += _compare_ids(ticket.id, "intake's timeline", list(ticket.timeline), expected.public)
    return diffs


def _compare_tiers(ticket: Accepted, holdings: list[TierHolding]) -> list[str]:
    here = [h for h in holdings if h.here]
    if ticket.status == "new":
        return [f"{ticket.id}: still new (never routed)"] + (
            [f"{ticket.id}: new at intake but held by tier {here[0].tier}"] if here else []
        )
    if len(here) != 1:
        where = ", ".join(f"tier {h.tier} ({h.status})" for h in here) or "no tier"
        return [f"{ticket.id}: {ticket.status} at intake, held by {where}: expected exactly one tier"]
    owner = here[0]
    diffs = []
    if owner.tier != ticket.tier or owner.status != ticket.status:
        diffs.append(f"{ticket.id}: intake says {ticket.status} at tier {ticket.tier}, tier {owner.tier} says {owner.status}")
    if owner.status in NEEDS_TIMER and not owner.has_timer:
        diffs.append(f"{ticket.id}: {owner.status} at tier {owner.tier} with no SLA timer")
    return diffs


def _compare_ids(ticket_id: str, where: str, applied: list[str], expected: tuple[str, ...]) -> list[str]:
    diffs = []
    twice = sorted(i for i, n in Counter(applied).items() if n > 1)
    if twice:
        diffs.append(f"{ticket_id}: {where} applied {', '.join(twice)} more than once")
    missing = sorted(set(expected) - set(applied))
    if missing:
        diffs.append(f"{ticket_id}: {where} lacks {len(missing)} requester-visible facts ({', '.join(missing[:3])})")
    extra = sorted(set(applied) - set(expected))
    if extra:
        diffs.append(f"{ticket_id}: {where} holds {len(extra)} facts the log does not ({', '.join(extra[:3])})")
    return diffs
