"""The KPIs of `escalier stats` and `GET /reports`, from hand-written audit trails."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from shared.messages import tickets as ev
from shared.messages.envelope import Envelope
from shared.messages.registry import TYPE_OF
from shared.reports import KpiBuilder, path_name

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_ids = itertools.count()


def at(minutes: float, data) -> Envelope:
    return Envelope(id=f"e{next(_ids)}", source="/test", type=TYPE_OF[type(data)], time=T0 + timedelta(minutes=minutes),
                    subject=data.ticket_id, data=data)


def submitted(ticket: str, org: str = "acme") -> Envelope:
    return at(0, ev.TicketSubmitted(
        ticket_id=ticket, title="t", description="d", requester={"email": "a@b.c", "name": "A"},
        organization=org, impact="low", urgency="low", submitted_at=T0))


def routed(ticket: str, tier: int = 1, priority: str = "P3") -> Envelope:
    return at(1, ev.TicketRouted(ticket_id=ticket, tier=tier, priority=priority))


def escalated(ticket: str, src: int, minutes: float, *, automatic=False, spent=60.0) -> Envelope:
    return at(minutes, ev.TicketEscalated(ticket_id=ticket, from_tier=src, to_tier=src + 1, reason="r",
                                          automatic=automatic, tier_elapsed_s=spent))


def resolved(ticket: str, level: int, minutes: float, article: str | None = None, **seconds) -> Envelope:
    return at(minutes, ev.TicketResolved(ticket_id=ticket, level=level, resolution="done", article_id=article,
                                         tier_seconds={k.lstrip("t"): v for k, v in seconds.items()}))


def trail() -> list[Envelope]:
    """A: fixed at tier 1. B: 1 -> 2 (automatic) -> fixed at 2, clock breached. C: self-service via kb-1.
    D: fixed at 1, reopened, fixed again. E: still open at tier 3. Z: another organization."""
    return [
        submitted("A"), routed("A"), resolved("A", 1, 30, t1=1800.0), at(40, ev.TicketRated(ticket_id="A", score=5, tiers=[1])),
        submitted("B"), routed("B", priority="P1"), escalated("B", 1, 10, automatic=True, spent=600.0),
        at(20, ev.SlaBreached(ticket_id="B", tier=2, clock="resolution", due_at=T0)),
        at(21, ev.SlaBreached(ticket_id="B", tier=2, clock="tier_budget", due_at=T0)),
        resolved("B", 2, 90, t1=600.0, t2=4800.0), at(95, ev.TicketRated(ticket_id="B", score=2, tiers=[1, 2])),
        submitted("C"), at(1, ev.ArticlesSuggested(ticket_id="C", articles=[
            {"article_id": "kb-1", "title": "x", "score": 3.0}, {"article_id": "kb-2", "title": "y", "score": 1.0}])),
        routed("C"), resolved("C", 0, 5, article="kb-1"), at(6, ev.TicketRated(ticket_id="C", score=4, tiers=[])),
        submitted("D"), routed("D"), resolved("D", 1, 10), at(11, ev.TicketReopened(ticket_id="D", tier=1)),
        resolved("D", 1, 50, t1=2400.0),
        submitted("E"), routed("E", priority="P2"), escalated("E", 1, 5), escalated("E", 2, 8),
        submitted("Z", org="globex"), routed("Z"), resolved("Z", 1, 2),
    ]


def test_first_contact_resolution_counts_only_agent_resolutions_at_the_first_tier_never_escalated_nor_reopened():
    report = KpiBuilder().add_all(trail()).report()
    assert report["tickets"] == {"submitted": 6, "resolved": 5, "open": 1, "resolved_at_level_0": 1}
    # Agents resolved A, B, D, Z; A and Z at first contact (B escalated, D reopened).
    assert report["first_contact_resolution"] == {"resolved_by_agents": 4, "first_contact": 2, "rate": 0.5}


def test_escalation_rate_per_tier_splits_automatic_from_manual():
    rates = KpiBuilder().add_all(trail()).report()["escalation_by_tier"]
    assert rates["1"] == {"arrived": 6, "escalated": 2, "automatic": 1, "manual": 1, "rate": 0.3333}
    assert rates["2"] == {"arrived": 2, "escalated": 1, "automatic": 0, "manual": 1, "rate": 0.5}
    assert rates["3"] == {"arrived": 1, "escalated": 0, "automatic": 0, "manual": 0, "rate": 0.0}


def test_time_at_tier_and_mttr_by_level_and_priority():
    report = KpiBuilder().add_all(trail()).report()
    assert report["time_at_tier"]["2"] == {"count": 2, "mean_s": 2430.0, "median_s": 2430.0}  # B 4800 s, E 60 s
    mttr = report["mttr"]
    assert mttr["2"]["P1"] == {"count": 1, "mean_s": 5400.0, "median_s": 5400.0}
    assert mttr["1"]["P3"]["count"] == 3 and mttr["1"]["P3"]["mean_s"] == (1800 + 3000 + 120) / 3  # D: last resolution
    assert mttr["0"]["all"]["mean_s"] == 300.0 and mttr["all"]["all"]["count"] == 5


def test_sla_compliance_counts_contract_clocks_only():
    compliance = KpiBuilder().add_all(trail()).report()["sla_compliance"]
    assert compliance["resolution"] == {"resolved": 5, "met": 4, "rate": 0.8}
    assert compliance["first_response"]["rate"] == 1.0  # the tier budget breach is an OLA, not the contract


def test_deflection_per_article_and_satisfaction_per_path():
    report = KpiBuilder().add_all(trail()).report()
    assert report["deflection_by_article"] == {
        "kb-1": {"suggested": 1, "deflected": 1, "rate": 1.0},
        "kb-2": {"suggested": 1, "deflected": 0, "rate": 0.0},
    }
    assert report["satisfaction_by_path"] == {
        "1": {"ratings": 1, "mean": 5.0}, "1>2": {"ratings": 1, "mean": 2.0}, "self-service": {"ratings": 1, "mean": 4.0},
    }


def test_an_organization_filter_keeps_only_its_tickets_and_an_empty_trail_has_no_rates():
    report = KpiBuilder(include=lambda org: org == "globex").add_all(trail()).report()
    assert report["tickets"]["submitted"] == 1 and report["first_contact_resolution"]["rate"] == 1.0
    empty = KpiBuilder().report()
    assert empty["first_contact_resolution"]["rate"] is None and empty["sla_compliance"]["resolution"]["rate"] is None


def test_events_of_tickets_submitted_before_the_history_are_ignored():
    builder = KpiBuilder().add_all([routed("old"), resolved("old", 1, 3)])
    assert builder.report()["tickets"]["submitted"] == 0 and builder.events == 0


def test_a_path_collapses_a_return_to_the_same_tier():
    assert path_name([1, 1, 2]) == "1>2" and path_name([]) == "none"


def test_tickets_occurrences_and_resolutions_by_the_source_are_counted_per_integration():
    def raised(ticket: str, integration: str) -> Envelope:
        return at(0, ev.TicketSubmitted(
            ticket_id=ticket, title="t", description="d", requester={"email": "noc@b.c", "name": "NOC"},
            organization="acme", impact="high", urgency="high", submitted_at=T0, integration_id=integration))

    def repeat(ticket: str, n: int) -> Envelope:
        return at(n, ev.AlertRepeated(ticket_id=ticket, integration_id="p", dedup_key=ticket, occurrences=n,
                                      summary="s", severity="critical"))

    events = [
        raised("X", "p"), repeat("X", 2), repeat("X", 3),
        raised("Y", "p"), at(9, ev.TicketResolved(ticket_id="Y", level=1, resolution="ok", from_source=True)),
        raised("W", "q"), *trail(),
    ]
    report = KpiBuilder().add_all(events).report()
    assert report["integrations"] == {
        "p": {"tickets": 2, "occurrences": 4, "resolved_by_source": 1},
        "q": {"tickets": 1, "occurrences": 1, "resolved_by_source": 0},
    }
    assert report["deflection_by_article"]["kb-1"]["deflected"] == 1


def test_the_table_shows_every_kpi_and_the_plot_draws_when_matplotlib_is_there(tmp_path):
    import pytest

    from escalier_cli.stats.table import render

    report = KpiBuilder().add_all(trail()).report()
    text = render(report)
    for heading in ("first-contact resolution: 50.0%", "escalation by tier", "time at each tier", "MTTR",
                    "SLA compliance", "deflection by article", "satisfaction by escalation path",
                    "integrations (monitoring systems)"):
        assert heading in text
    pytest.importorskip("matplotlib")
    from escalier_cli.stats.plot import draw

    draw(tmp_path / "kpis.png", report)
    assert (tmp_path / "kpis.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
