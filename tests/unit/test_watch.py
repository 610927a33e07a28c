"""`escalier watch`: queues and the filtered stream folded from events, and the screen they make."""

from __future__ import annotations

from rich.console import Console

from shared.messages import tickets as ev
from escalier_cli.watch.state import Filters, WatchState
from escalier_cli.watch.view import render
from tests.unit.test_reports import at, escalated, resolved, routed, submitted


def story() -> list:
    return [
        submitted("A"), routed("A"), at(2, ev.TicketAssigned(ticket_id="A", tier=1, assignee="alice")),
        at(3, ev.InfoRequested(ticket_id="A", tier=1, author="alice", question="which laptop?")),
        submitted("B", org="globex"), routed("B"), escalated("B", 1, 4),
        submitted("C"), routed("C"), resolved("C", 1, 5),
        submitted("D"), routed("D"), escalated("D", 1, 6), at(7, ev.TicketAssigned(ticket_id="D", tier=2, assignee="bob")),
        at(8, ev.InfoRequested(ticket_id="D", tier=2, author="bob", question="?")),
        at(9, ev.RequesterReplied(ticket_id="D", body="the blue one")),
    ]


def test_queues_follow_each_ticket_to_its_tier_and_status():
    state = WatchState()
    for event in story():
        state.add(event)
    queues = state.queues()
    assert dict(queues[1]) == {"waiting_on_requester": 1}
    assert dict(queues[2]) == {"queued": 1, "in_progress": 1}
    assert sum(queues[3].values()) == 0


def test_filters_keep_an_organization_a_tier_and_event_types():
    state = WatchState(Filters(organizations=frozenset({"acme"}), tiers=frozenset({2}), types=frozenset({"ticket.escalated", "ticket.assigned"})))
    for event in story():
        state.add(event)
    assert [(r.type, r.ticket_id, r.tier) for r in state.recent] == [("ticket.escalated", "D", 2), ("ticket.assigned", "D", 2)]
    assert set(state.queues()) == {2} and dict(state.queues()[2]) == {"in_progress": 1}  # globex's B left out


def test_the_stream_keeps_the_latest_rows_and_events_before_the_history_are_ignored():
    state = WatchState(keep=3)
    state.add(routed("before-history"))
    for event in story():
        state.add(event)
    assert len(state.recent) == 3 and state.recent[-1].what == "replied: the blue one"
    assert "before-history" not in state.tickets


def test_the_screen_shows_queues_and_events():
    state = WatchState()
    for event in story():
        state.add(event)
    console = Console(record=True, width=140)
    console.print(render(state, caught_up=True, source="tickets.events"))
    text = console.export_text()
    assert "Queues (open tickets)" in text and "waiting on requester" in text
    assert "1->2: r" in text and "claimed by bob" in text
