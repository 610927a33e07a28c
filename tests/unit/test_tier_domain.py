"""Working a ticket at a tier: the tier engine's rules, without I/O."""

from datetime import UTC, datetime

import pytest

from shared.lifecycle import IllegalTransition, Status
from shared.messages.common import Requester, TicketSnapshot
from shared.messages.tickets import TicketAssigned, TicketEscalated, TicketResolved
from shared.sla.contracts import Contract
from services.tiers.work.domain import NoHigherTier, NotYourTicket, TicketLeftTier, WorkItem

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
CONTRACT = Contract(
    name="test",
    targets={p: {"first_response": 60, "resolution": 400} for p in ("P1", "P2", "P3", "P4")},
    tier_budget={1: 0.25, 2: 0.25, 3: 0.5},
    escalation_contact="boss@acme.example",
    reminder_interval=30,
)


def item(tier: int = 1) -> WorkItem:
    snapshot = TicketSnapshot(
        ticket_id="T1",
        title="VPN down",
        description="cannot connect",
        requester=Requester(email="ann@acme.fr", name="Ann", language="fr"),
        organization="acme",
        impact="medium",
        urgency="high",
        priority="P2",
        category="network",
        submitted_at=NOW,
        tiers_visited=[tier],
    )
    return WorkItem.arrived(tier, snapshot, CONTRACT, NOW)


def test_claiming_assigns_the_agent_and_starts_the_work():
    ticket = item()
    events = ticket.claim("alice")
    assert ticket.status == Status.IN_PROGRESS and ticket.assignee == "alice"
    assert events == [TicketAssigned(ticket_id="T1", tier=1, assignee="alice")]


def test_a_claimed_ticket_cannot_be_claimed_by_someone_else():
    ticket = item()
    ticket.claim("alice")
    with pytest.raises(NotYourTicket, match="already claimed by alice"):
        ticket.claim("bob")


def test_only_the_assignee_resolves_and_the_level_is_the_tier():
    ticket = item(tier=2)
    ticket.claim("alice")
    with pytest.raises(NotYourTicket):
        ticket.resolve("bob", "rebooted", None)
    assert ticket.status == Status.IN_PROGRESS
    [resolved] = ticket.resolve("alice", "rebooted", None)
    assert isinstance(resolved, TicketResolved) and resolved.level == 2


def test_resolving_an_unclaimed_ticket_is_refused():
    with pytest.raises(IllegalTransition, match="nobody has claimed"):
        item().resolve("alice", "done", None)


def test_escalation_carries_every_comment_and_leaves_the_tier():
    ticket = item(tier=1)
    ticket.claim("alice")
    ticket.comment("alice", "tried a reboot", True)
    [escalated] = ticket.escalate("needs the network team", by="alice", specialty=None)
    assert isinstance(escalated, TicketEscalated)
    assert (escalated.from_tier, escalated.to_tier, escalated.automatic) == (1, 2, False)
    assert escalated.snapshot.tiers_visited == [1, 2]
    assert [c.body for c in escalated.snapshot.comments] == ["tried a reboot"]
    assert not ticket.here
    with pytest.raises(TicketLeftTier):
        ticket.claim("bob")


def test_tier_three_cannot_escalate():
    with pytest.raises(NoHigherTier, match="last tier"):
        item(tier=3).escalate("too hard", by="carol", specialty=None)


def test_a_reply_resumes_a_ticket_waiting_on_its_requester():
    ticket = item()
    ticket.claim("alice")
    ticket.request_info("alice", "which VPN client?")
    assert ticket.status == Status.WAITING_ON_REQUESTER
    ticket.requester_replied()
    assert ticket.status == Status.IN_PROGRESS


def test_a_level_zero_resolution_takes_the_ticket_out_of_the_queue():
    ticket = item()
    ticket.resolved_by_requester()
    assert ticket.status == Status.RESOLVED
