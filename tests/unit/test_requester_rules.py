"""What a requester may do after submitting, and when a resolved ticket closes itself."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from shared.lifecycle import IllegalTransition
from shared.messages.tickets import TicketEscalated, TicketReopened, TicketResolved, TicketRouted

from services.intake.requester.domain import (
    AlreadyRated,
    CannotRate,
    CannotReopen,
    CannotReply,
    ReopenWindowPassed,
    action_changes,
    auto_close,
    auto_close_due,
    follow_up_changes,
    human_duration,
    rate,
    reopen,
    reply,
    self_resolve,
)

NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


@dataclass
class Ticket:
    status: str = "resolved"
    level: int | None = 2
    resolved_at: datetime | None = NOW - timedelta(days=1)
    resolution_count: int = 1
    rated_resolution: int = 0
    tiers_visited: list = field(default_factory=lambda: [1, 2])
    id: str = "T-1"
    assignee: str | None = None


@pytest.mark.parametrize("status", ["new", "queued", "in_progress", "waiting_on_requester"])
def test_a_requester_may_reply_while_the_ticket_is_worked(status):
    assert reply(Ticket(status=status), "here it is").body == "here it is"


def test_a_reply_to_a_resolved_ticket_says_to_reopen_it_and_to_a_closed_one_to_submit_anew():
    with pytest.raises(CannotReply, match="reopen"):
        reply(Ticket(status="resolved"), "still broken")
    with pytest.raises(CannotReply, match="submit a new ticket"):
        reply(Ticket(status="closed"), "still broken")


def test_a_reopened_ticket_goes_back_to_the_tier_that_resolved_it():
    event = reopen(Ticket(level=2), "it is back", now=NOW, window=WEEK)
    assert (event.tier, event.reason) == (2, "it is back")


def test_a_ticket_resolved_by_self_service_reopens_at_tier_one():
    assert reopen(Ticket(level=0), "", now=NOW, window=WEEK).tier == 1


def test_reopening_is_allowed_up_to_the_end_of_the_window_and_refused_after_with_the_reason():
    resolved_at = NOW - WEEK
    assert reopen(Ticket(resolved_at=resolved_at), "", now=NOW, window=WEEK).tier == 2
    with pytest.raises(ReopenWindowPassed, match="within 7 days of its resolution; submit a new ticket"):
        reopen(Ticket(resolved_at=resolved_at), "", now=NOW + timedelta(seconds=1), window=WEEK)


def test_only_a_resolved_ticket_can_be_reopened():
    with pytest.raises(CannotReopen, match="closed; submit a new ticket"):
        reopen(Ticket(status="closed"), "", now=NOW, window=WEEK)
    with pytest.raises(CannotReopen, match="in progress"):
        reopen(Ticket(status="in_progress"), "", now=NOW, window=WEEK)


def test_a_rating_carries_the_tiers_the_ticket_went_through():
    event = rate(Ticket(tiers_visited=[1, 2, 3]), 4, "quick")
    assert (event.score, event.comment, event.tiers) == (4, "quick", [1, 2, 3])


def test_a_resolution_is_rated_once_and_the_next_resolution_may_be_rated_again():
    with pytest.raises(AlreadyRated):
        rate(Ticket(resolution_count=1, rated_resolution=1), 5, "")
    assert rate(Ticket(resolution_count=2, rated_resolution=1), 5, "").score == 5


def test_a_closed_ticket_may_be_rated_but_an_unresolved_one_may_not():
    assert rate(Ticket(status="closed"), 3, "").score == 3
    with pytest.raises(CannotRate):
        rate(Ticket(status="in_progress"), 3, "")


def test_a_resolved_ticket_closes_automatically_once_its_grace_period_has_passed():
    grace = timedelta(days=3)
    ticket = Ticket(resolved_at=NOW - grace)
    assert auto_close_due(ticket, now=NOW, grace=grace)
    assert not auto_close_due(ticket, now=NOW - timedelta(seconds=1), grace=grace)
    assert not auto_close_due(Ticket(status="in_progress", resolved_at=None), now=NOW, grace=grace)
    assert auto_close(ticket).reason == "automatic"


def test_the_view_remembers_resolutions_and_the_tiers_visited_in_order():
    ticket = Ticket(status="new", resolved_at=None, resolution_count=0, tiers_visited=[])
    ticket.tiers_visited = follow_up_changes(ticket, TicketRouted(ticket_id="T-1", tier=1, priority="P3"), NOW)[
        "tiers_visited"
    ]
    ticket.tiers_visited = follow_up_changes(
        ticket, TicketEscalated(ticket_id="T-1", from_tier=1, to_tier=2, reason="r"), NOW
    )["tiers_visited"]
    assert ticket.tiers_visited == [1, 2]
    resolved = follow_up_changes(ticket, TicketResolved(ticket_id="T-1", level=2, resolution="ok"), NOW)
    assert resolved == {"resolved_at": NOW, "resolution_count": 1}
    assert follow_up_changes(ticket, TicketReopened(ticket_id="T-1", tier=2), NOW) == {"resolved_at": None}


def test_durations_read_in_their_largest_whole_unit():
    assert [human_duration(timedelta(seconds=s)) for s in (604800, 3600, 5400, 90, 1)] == [
        "7 days", "1 hour", "90 minutes", "90 seconds", "1 second",
    ]


@pytest.mark.parametrize("status", ["new", "queued", "in_progress", "waiting_on_requester"])
def test_a_requester_resolves_an_open_ticket_at_level_0_with_the_article_that_helped(status):
    event = self_resolve(Ticket(status=status, level=None), "kb-vpn-1", by="ann@acme.example")
    assert (event.level, event.article_id, event.by) == (0, "kb-vpn-1", "ann@acme.example")


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_a_self_resolution_of_a_resolved_or_closed_ticket_is_refused(status):
    with pytest.raises(IllegalTransition):
        self_resolve(Ticket(status=status), "kb-vpn-1", by="ann@acme.example")


def test_a_self_resolution_changes_status_and_level_at_once_and_leaves_counting_it_to_the_projection():
    ticket = Ticket(status="queued", level=None, resolved_at=None, resolution_count=0)
    event = self_resolve(ticket, "kb-vpn-1", by="ann@acme.example")
    assert action_changes(ticket, "ticket.resolved", event, NOW) == {"status": "resolved", "level": 0}
