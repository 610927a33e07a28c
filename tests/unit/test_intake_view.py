"""How each fact changes the requester's view."""

from shared.messages.registry import EVENT_TYPES
from shared.messages.tickets import RequesterReplied, TicketEscalated, TicketReopened, TicketResolved, TicketRouted
from shared.sla.contracts import Contracts
from shared.topics import TICKETS_EVENTS
from services.intake.requester.domain import view_changes
from services.intake.subscribers import subscriptions
from services.intake.timeline import timeline_data


def test_an_escalation_queues_the_ticket_at_the_next_tier_without_an_assignee():
    data = TicketEscalated(ticket_id="T1", from_tier=1, to_tier=2, reason="r")
    assert view_changes("ticket.escalated", data, "in_progress") == {
        "status": "queued", "tier": 2, "assignee": None, "specialty": None
    }


def test_a_resolution_records_the_level():
    data = TicketResolved(ticket_id="T1", level=0, resolution="article helped")
    assert view_changes("ticket.resolved", data, "queued") == {"status": "resolved", "level": 0}


def test_a_reply_resumes_only_a_ticket_that_waited_on_its_requester():
    data = RequesterReplied(ticket_id="T1", body="here you go")
    assert view_changes("ticket.requester_replied", data, "waiting_on_requester") == {"status": "in_progress"}
    assert view_changes("ticket.requester_replied", data, "queued") == {}


def test_a_reopened_ticket_goes_back_to_its_agent_or_to_the_queue_as_at_the_tier():
    data = TicketReopened(ticket_id="T1", tier=2)
    assert view_changes("ticket.reopened", data, "resolved", "alice")["status"] == "in_progress"
    assert view_changes("ticket.reopened", data, "resolved", None)["status"] == "queued"


def test_the_timeline_never_shows_a_hand_off_snapshot():
    data = TicketRouted(ticket_id="T1", tier=1, priority="P3")
    assert "snapshot" not in timeline_data(data)


# Out of order: a later fact that arrived first must not be rolled back by an earlier one.

from datetime import UTC, datetime, timedelta  # noqa: E402

from shared.messages.tickets import TicketAssigned, TicketTriaged  # noqa: E402
from services.intake.requester.domain import in_order, is_late, moves_clocks  # noqa: E402

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def project(facts: list[tuple[datetime, str, object]]) -> tuple[dict, dict]:
    """Fold facts, in arrival order, the way intake's projection does."""
    view: dict = {"status": "new"}
    stamps: dict = {}
    for at, kind, data in facts:
        applied, stamps = in_order(view_changes(kind, data, view["status"]), at, stamps)
        view.update(applied)
    return view, stamps


ROUTED = (T0 + timedelta(seconds=1), "ticket.routed", TicketRouted(ticket_id="T1", tier=1, priority="P3"))
ASSIGNED = (T0 + timedelta(seconds=2), "ticket.assigned", TicketAssigned(ticket_id="T1", tier=1, assignee="alice"))
RESOLVED = (T0 + timedelta(seconds=3), "ticket.resolved", TicketResolved(ticket_id="T1", level=1, resolution="done"))


def test_a_late_assignment_after_the_resolution_does_not_reopen_the_view():
    view, stamps = project([ROUTED, RESOLVED, ASSIGNED])
    assert view["status"] == "resolved" and view["level"] == 1
    assert stamps["status"] == RESOLVED[0].isoformat()
    assert is_late(ASSIGNED[0], stamps) and not is_late(RESOLVED[0], stamps)


def test_facts_in_order_and_out_of_order_end_in_the_same_view():
    in_sequence, _ = project([ROUTED, ASSIGNED, RESOLVED])
    for shuffled in ([RESOLVED, ROUTED, ASSIGNED], [ASSIGNED, RESOLVED, ROUTED], [RESOLVED, ASSIGNED, ROUTED]):
        assert project(shuffled)[0] == in_sequence


def test_a_late_routing_does_not_move_an_escalated_ticket_back_a_tier():
    escalated = (T0 + timedelta(seconds=4), "ticket.escalated",
                 TicketEscalated(ticket_id="T1", from_tier=1, to_tier=2, reason="r"))
    view, _ = project([escalated, ROUTED])
    assert (view["status"], view["tier"], view["priority"]) == ("queued", 2, "P3")


def test_a_late_fact_still_fills_what_no_later_fact_has_set():
    view, _ = project([RESOLVED, ROUTED])
    assert (view["status"], view["tier"]) == ("resolved", 1)


def test_only_a_late_triage_that_finds_no_clocks_starts_them():
    triaged = TicketTriaged(ticket_id="T1", category="account", priority="P2", tier=1, explanation="x")
    assert moves_clocks(triaged, late=True, sla={})
    assert not moves_clocks(triaged, late=True, sla={"resolution": {}})
    assert not moves_clocks(ASSIGNED[2], late=True, sla={})
    assert moves_clocks(ASSIGNED[2], late=False, sla={})


def test_intake_reads_back_every_fact_of_a_ticket_but_the_ones_it_writes_on_the_timeline_itself():
    handled = subscriptions(Contracts.load(None))[TICKETS_EVENTS]
    own = {"ticket.submitted", "ticket.alert_repeated"}
    assert set(handled) == {t for t in EVENT_TYPES if t.startswith("ticket.")} - own
