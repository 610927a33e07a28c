"""`escalier verify`'s comparison: what intake accepted against the tiers and the event log."""

from datetime import UTC, datetime, timedelta

from escalier_cli.reconcile import Accepted, LoggedEvent, TierHolding, expected_state, reconcile

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def journey(ticket: str = "t1") -> list[LoggedEvent]:
    return [
        LoggedEvent(f"{ticket}-sub", "ticket.submitted", at(0), ticket),
        LoggedEvent(f"{ticket}-tri", "ticket.triaged", at(1), ticket, tier=1),
        LoggedEvent(f"{ticket}-rou", "ticket.routed", at(2), ticket, tier=1),
        LoggedEvent(f"{ticket}-asg", "ticket.assigned", at(3), ticket, tier=1),
        LoggedEvent(f"{ticket}-esc", "ticket.escalated", at(4), ticket, tier=2),
    ]


PUBLIC = ("t1-sub", "t1-tri", "t1-rou", "t1-asg", "t1-esc")


def consistent() -> tuple[list[Accepted], list[TierHolding]]:
    accepted = [Accepted("t1", "queued", 2, 0, PUBLIC)]
    holdings = [TierHolding(1, "t1", "queued", False, False), TierHolding(2, "t1", "queued", True, True)]
    return accepted, holdings


def test_a_consistent_system_passes_with_its_counts():
    accepted, holdings = consistent()
    report = reconcile(accepted, holdings, journey(), {"t1": list(PUBLIC)})
    assert report.ok, report.differences
    assert report.counts["accepted"] == 1 and report.counts["log distinct events"] == 5
    assert report.lines()[-1].startswith("OK")


def test_an_accepted_ticket_missing_from_the_log_is_lost():
    accepted, holdings = consistent()
    report = reconcile(accepted + [Accepted("t2", "new", None)], holdings, journey())
    assert not report.ok
    assert any("t2: accepted but its ticket.submitted is not in the log" in d for d in report.differences)


def test_intake_disagreeing_with_the_last_fact_is_a_difference():
    _, holdings = consistent()
    report = reconcile([Accepted("t1", "in_progress", 1, 0, PUBLIC)], holdings, journey())
    assert any("intake says in_progress, the log says queued" in d for d in report.differences)
    assert any("intake says tier 1, the log says tier 2" in d for d in report.differences)


def test_the_log_is_folded_by_event_time_not_by_position():
    # After the broker restarts empty, services republish in their own turn: the escalation may come first.
    events = journey()
    assert expected_state([events[4], *events[:4]]).status == "queued"
    assert expected_state([events[4], *events[:4]]).tier == 2


def test_redeliveries_in_the_log_are_counted_not_applied():
    accepted, holdings = consistent()
    events = journey()
    report = reconcile(accepted, holdings, events + events[:2])
    assert report.ok, report.differences
    assert report.counts["log redeliveries"] == 2


def test_a_fact_applied_twice_by_a_projection_is_a_difference():
    accepted, holdings = consistent()
    report = reconcile(accepted, holdings, journey(), {"t1": [*PUBLIC, "t1-asg"]})
    assert any("notifier applied t1-asg more than once" in d for d in report.differences)


def test_a_resolution_counted_twice_is_a_difference():
    events = journey()[:4] + [LoggedEvent("t1-res", "ticket.resolved", at(5), "t1")]
    ids = tuple(e.id for e in events)
    report = reconcile([Accepted("t1", "resolved", 1, 2, ids)], [TierHolding(1, "t1", "resolved", True, False)], events)
    assert report.differences == ["t1: intake counted 2 resolutions, the log has 1"]


def test_a_projection_missing_a_visible_fact_is_a_difference():
    accepted, holdings = consistent()
    report = reconcile([Accepted("t1", "queued", 2, 0, PUBLIC[:-1])], holdings, journey())
    assert any("intake's timeline lacks 1 requester-visible facts (t1-esc)" in d for d in report.differences)


def test_internal_facts_are_not_expected_in_the_requesters_projections():
    accepted, holdings = consistent()
    events = journey() + [LoggedEvent("t1-warn", "ticket.sla_warning", at(5), "t1", public=False, tier=2)]
    assert reconcile(accepted, holdings, events, {"t1": list(PUBLIC)}).ok


def test_a_ticket_held_by_two_tiers_or_none_is_a_difference():
    accepted, _ = consistent()
    two = [TierHolding(1, "t1", "queued", True, True), TierHolding(2, "t1", "queued", True, True)]
    assert any("expected exactly one tier" in d for d in reconcile(accepted, two, journey()).differences)
    assert any("held by no tier" in d for d in reconcile(accepted, [], journey()).differences)


def test_the_owning_tier_must_agree_with_intake():
    accepted, _ = consistent()
    report = reconcile(accepted, [TierHolding(2, "t1", "in_progress", True, True)], journey())
    assert any("tier 2 says in_progress" in d for d in report.differences)


def test_an_open_ticket_without_a_timer_is_a_difference_but_a_waiting_one_may_have_none():
    accepted, _ = consistent()
    report = reconcile(accepted, [TierHolding(2, "t1", "queued", True, False)], journey())
    assert any("queued at tier 2 with no SLA timer" in d for d in report.differences)
    assert report.counts["open without a timer"] == 1
    waiting = journey() + [LoggedEvent("t1-ask", "ticket.info_requested", at(5), "t1", tier=2)]
    ids = (*PUBLIC, "t1-ask")
    assert reconcile(
        [Accepted("t1", "waiting_on_requester", 2, 0, ids)],
        [TierHolding(2, "t1", "waiting_on_requester", True, False)],
        waiting,
    ).ok


def test_a_ticket_never_routed_is_stuck():
    events = journey()[:1]
    report = reconcile([Accepted("t1", "new", None, 0, ("t1-sub",))], [], events)
    assert report.differences == ["t1: still new (never routed)"]


def test_facts_of_a_ticket_intake_never_accepted_are_a_difference():
    accepted, holdings = consistent()
    report = reconcile(accepted, holdings, journey() + journey("ghost"))
    assert any("ghost: facts in the log for a ticket intake never accepted" in d for d in report.differences)


def test_a_reopened_ticket_is_expected_back_with_its_agent_or_in_the_queue_if_nobody_claimed_it():
    claimed = journey()[:4] + [
        LoggedEvent("t1-res", "ticket.resolved", at(5), "t1"),
        LoggedEvent("t1-reo", "ticket.reopened", at(6), "t1", tier=1),
    ]
    assert expected_state(claimed).status == "in_progress"
    unclaimed = journey()[:3] + [  # resolved by its source (or the requester) while still queued
        LoggedEvent("t1-res", "ticket.resolved", at(5), "t1"),
        LoggedEvent("t1-reo", "ticket.reopened", at(6), "t1", tier=1),
    ]
    assert expected_state(unclaimed).status == "queued"
