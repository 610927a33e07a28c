"""Support KPIs from the audit trail (`tickets.events`): plain Python over decoded events, no I/O.

Fed in the topic's order (a ticket's events share a partition, so each ticket's are in order).
Definitions, each over the tickets the events show:
- first-contact resolution: tickets resolved by an agent at the tier they were first routed to,
  never escalated nor reopened, among the tickets resolved by an agent (level 1-3);
- escalation rate per tier: tickets escalated out of a tier among those that arrived there;
- time at each tier: open seconds spent there (SLA calendar), from resolutions and escalations;
- MTTR per tier and priority: submission to (last) resolution, wall clock, by resolving level;
- SLA compliance per clock: resolved tickets whose clock never breached;
- deflection per article: tickets resolved at level 0 with the article among those it was suggested to;
- satisfaction per escalation path: mean rating by the tiers the ticket went through;
- per integration: the tickets its alerts opened, their occurrences (each trigger counted on an
  open ticket: the first, then every `ticket.alert_repeated`), and those it resolved itself.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shared.messages.envelope import Envelope

CONTRACT_CLOCKS = ("first_response", "resolution")


@dataclass
class _Ticket:
    organization: str
    submitted_at: datetime
    priority: str | None = None
    tiers: list[int] = field(default_factory=list)  # in arrival order, repeats kept
    escalated_from: list[tuple[int, bool]] = field(default_factory=list)  # (tier, automatic)
    reopened: bool = False
    resolved_at: datetime | None = None
    level: int | None = None
    tier_seconds: dict[str, float] = field(default_factory=dict)
    breached: set[str] = field(default_factory=set)
    suggested: set[str] = field(default_factory=set)
    ratings: list[int] = field(default_factory=list)
    rated_path: list[int] | None = None
    deflected_by: str | None = None  # the article of a level-0 resolution
    integration: str | None = None  # the monitoring system that raised it
    occurrences: int = 1
    resolved_by_source: bool = False


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "mean_s": None, "median_s": None}
    return {"count": len(values), "mean_s": round(statistics.fmean(values), 3), "median_s": round(statistics.median(values), 3)}


def path_name(tiers: Iterable[int]) -> str:
    """The tiers visited joined by '>' (a reopened ticket's return to a tier collapsed)."""
    steps: list[int] = []
    for tier in tiers:
        if not steps or steps[-1] != tier:
            steps.append(tier)
    return ">".join(str(t) for t in steps) or "none"


class KpiBuilder:
    """Accumulates events; `report()` gives the figures. `include(organization)` filters tickets."""

    def __init__(self, include: Callable[[str], bool] = lambda _org: True) -> None:
        self._include = include
        self._tickets: dict[str, _Ticket] = {}
        self.events = 0

    def add(self, event: Envelope) -> None:
        """Take one event of `tickets.events` into account."""
        data, kind = event.data, event.type
        if kind == "ticket.submitted":
            if self._include(data.organization) and event.subject not in self._tickets:
                self._tickets[event.subject] = _Ticket(
                data.organization, data.submitted_at, integration=getattr(data, "integration_id", None)
            )
            return
        ticket = self._tickets.get(event.subject)
        if ticket is None:  # another organization's, or its submission is before the retained history
            return
        self.events += 1
        match kind:
            case "ticket.triaged":
                ticket.priority = data.priority
            case "ticket.routed":
                ticket.priority = data.priority
                ticket.tiers.append(data.tier)
            case "ticket.articles_suggested":
                ticket.suggested.update(a.article_id for a in data.articles)
            case "ticket.escalated":
                ticket.escalated_from.append((data.from_tier, data.automatic))
                ticket.tiers.append(data.to_tier)
                if data.tier_elapsed_s is not None:
                    ticket.tier_seconds[str(data.from_tier)] = data.tier_elapsed_s
            case "ticket.sla_breached" if data.clock in CONTRACT_CLOCKS:
                ticket.breached.add(data.clock)
            case "ticket.alert_repeated":
                ticket.occurrences = max(ticket.occurrences, data.occurrences)
            case "ticket.resolved":
                ticket.resolved_at, ticket.level = event.time, data.level
                ticket.tier_seconds.update(data.tier_seconds)
                ticket.deflected_by = data.article_id if data.level == 0 and not data.from_source else None
                ticket.resolved_by_source = data.from_source
            case "ticket.reopened":
                ticket.reopened = True
                ticket.resolved_at = ticket.level = None
            case "ticket.rated":
                ticket.ratings.append(data.score)
                ticket.rated_path = list(data.tiers) or ticket.rated_path

    def add_all(self, events: Iterable[Envelope]) -> KpiBuilder:
        for event in events:
            self.add(event)
        return self

    def report(self) -> dict:
        """Every KPI as plain JSON-ready values (rates in 0..1, durations in seconds)."""
        tickets = list(self._tickets.values())
        resolved = [t for t in tickets if t.resolved_at is not None]
        by_agent = [t for t in resolved if t.level]
        first_contact = [t for t in by_agent if not t.escalated_from and not t.reopened and t.tiers[:1] == [t.level]]
        return {
            "tickets": {
                "submitted": len(tickets),
                "resolved": len(resolved),
                "open": len(tickets) - len(resolved),
                "resolved_at_level_0": sum(1 for t in resolved if t.level == 0),
            },
            "first_contact_resolution": {"resolved_by_agents": len(by_agent), "first_contact": len(first_contact),
                                         "rate": _rate(len(first_contact), len(by_agent))},
            "escalation_by_tier": self._escalation_rates(tickets),
            "time_at_tier": {
                tier: _summary([t.tier_seconds[tier] for t in tickets if tier in t.tier_seconds]) for tier in ("1", "2", "3")
            },
            "mttr": self._mttr(resolved),
            "sla_compliance": {
                clock: {"resolved": len(resolved), "met": sum(1 for t in resolved if clock not in t.breached),
                        "rate": _rate(sum(1 for t in resolved if clock not in t.breached), len(resolved))}
                for clock in CONTRACT_CLOCKS
            },
            "deflection_by_article": self._deflection(tickets),
            "satisfaction_by_path": self._satisfaction(tickets),
            "integrations": self._integrations(tickets),
        }

    @staticmethod
    def _integrations(tickets: list[_Ticket]) -> dict:
        figures: dict[str, dict[str, int]] = {}
        for t in tickets:
            if t.integration is None:
                continue
            row = figures.setdefault(t.integration, {"tickets": 0, "occurrences": 0, "resolved_by_source": 0})
            row["tickets"] += 1
            row["occurrences"] += t.occurrences
            row["resolved_by_source"] += int(t.resolved_by_source and t.resolved_at is not None)
        return dict(sorted(figures.items()))

    @staticmethod
    def _escalation_rates(tickets: list[_Ticket]) -> dict:
        rates = {}
        for tier in (1, 2, 3):
            arrived = [t for t in tickets if tier in t.tiers]
            moves = [automatic for t in arrived for source, automatic in t.escalated_from if source == tier]
            escalated = sum(1 for t in arrived if any(source == tier for source, _ in t.escalated_from))
            rates[str(tier)] = {"arrived": len(arrived), "escalated": escalated, "automatic": sum(moves),
                                "manual": len(moves) - sum(moves), "rate": _rate(escalated, len(arrived))}
        return rates

    @staticmethod
    def _mttr(resolved: list[_Ticket]) -> dict:
        groups: dict[tuple[str, str], list[float]] = defaultdict(list)
        for t in resolved:
            seconds = (t.resolved_at - t.submitted_at).total_seconds()
            for key in ((str(t.level), t.priority or "unknown"), (str(t.level), "all"), ("all", t.priority or "unknown"), ("all", "all")):
                groups[key].append(seconds)
        table: dict[str, dict] = defaultdict(dict)
        for (level, priority), values in sorted(groups.items()):
            table[level][priority] = _summary(values)
        return dict(table)

    @staticmethod
    def _deflection(tickets: list[_Ticket]) -> dict:
        suggested: dict[str, int] = defaultdict(int)
        deflected: dict[str, int] = defaultdict(int)
        for t in tickets:
            for article in t.suggested:
                suggested[article] += 1
            if t.resolved_at and t.deflected_by:
                deflected[t.deflected_by] += 1
        articles = sorted(set(suggested) | set(deflected), key=lambda a: (-deflected[a], -suggested[a], a))
        return {a: {"suggested": suggested[a], "deflected": deflected[a], "rate": _rate(deflected[a], suggested[a])}
                for a in articles}

    @staticmethod
    def _satisfaction(tickets: list[_Ticket]) -> dict:
        scores: dict[str, list[int]] = defaultdict(list)
        for t in tickets:
            if t.ratings:
                path = "self-service" if t.level == 0 else path_name(t.rated_path or t.tiers)
                scores[path].append(t.ratings[-1])
        return {path: {"ratings": len(s), "mean": round(statistics.fmean(s), 3)} for path, s in sorted(scores.items())}
