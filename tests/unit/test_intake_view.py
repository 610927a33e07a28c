"""How each fact changes the requester's view."""

from shared.messages.tickets import RequesterReplied, TicketEscalated, TicketResolved, TicketRouted
from services.intake.domain import timeline_data, view_changes


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


def test_the_timeline_never_shows_a_hand_off_snapshot():
    data = TicketRouted(ticket_id="T1", tier=1, priority="P3")
    assert "snapshot" not in timeline_data(data)
