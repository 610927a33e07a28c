"""SLA alarms at a tier: warnings, breaches, automatic and hierarchical escalation, once each."""

from datetime import timedelta

from shared.lifecycle import Status
from shared.messages.tickets import RequesterReplied, SlaBreached, SlaWarning, TicketEscalated
from tests.unit.test_tier_domain import NOW, item


def at(ticket, seconds: float):
    ticket.now = NOW + timedelta(seconds=seconds)
    return ticket.tick()


def kinds(events) -> list[str]:
    return [f"{type(e).__name__}:{getattr(e, 'clock', '')}" for e in events]


def test_an_unclaimed_ticket_warns_then_escalates_when_the_tier_budget_runs_out():
    ticket = item(tier=1)  # resolution 400 s; tier 1 budget 25% = 100 s; warning at 75%
    assert ticket.next_alarm_at == NOW + timedelta(seconds=45)  # first response warning (60 s * 0.75)
    assert kinds(at(ticket, 76)) == [
        "SlaWarning:first_response",
        "SlaBreached:first_response",
        "SlaWarning:tier_budget",
    ]
    events = at(ticket, 100)
    assert kinds(events) == ["SlaBreached:tier_budget", "TicketEscalated:"]
    breach, escalated = events
    assert breach.action == "escalated"
    assert escalated.automatic and escalated.to_tier == 2 and "budget" in escalated.reason
    assert escalated.snapshot.tier_seconds == {"1": 100.0}
    assert not ticket.here and ticket.next_alarm_at is None


def test_nothing_fires_twice():
    ticket = item(tier=1)
    at(ticket, 50)
    assert at(ticket, 50) == []
    assert at(ticket, 59) == []


def test_a_restarted_service_fires_what_fell_due_while_it_was_down_once_in_order():
    ticket = item(tier=2)  # budget 100 s
    events = at(ticket, 1000)
    assert kinds(events) == [
        "SlaWarning:first_response",
        "SlaBreached:first_response",
        "SlaWarning:tier_budget",
        "SlaBreached:tier_budget",
        "TicketEscalated:",
    ]


def test_a_public_reply_stops_the_first_response_clock():
    ticket = item(tier=1)
    ticket.claim("alice")
    ticket.now = NOW + timedelta(seconds=10)
    ticket.record(ticket.comment("alice", "Looking into it", False))
    assert all(e.clock != "first_response" for e in at(ticket, 99))


def test_waiting_on_the_requester_pauses_the_clocks():
    ticket = item(tier=1)
    ticket.claim("alice")
    ticket.now = NOW + timedelta(seconds=10)
    ticket.record(ticket.request_info("alice", "Which VPN?"))
    assert ticket.next_alarm_at is None
    assert at(ticket, 500) == []
    ticket.now = NOW + timedelta(seconds=500)
    ticket.requester_replied()
    ticket.record([RequesterReplied(ticket_id="T1", body="Cisco")])
    # 10 s used before the pause; the budget (100 s) runs out 90 s after the reply.
    assert kinds(at(ticket, 589)) == ["SlaWarning:tier_budget"]
    assert kinds(at(ticket, 590))[0] == "SlaBreached:tier_budget"


def test_tier_three_alerts_the_escalation_contact_and_reminds_until_someone_claims():
    ticket = item(tier=3)  # budget 50% of 400 s = 200 s; reminders every 30 s
    alert = [e for e in at(ticket, 200) if isinstance(e, SlaBreached) and e.clock == "tier_budget"]
    assert [(a.action, a.alert_contact, a.reminder) for a in alert] == [("alerted", "boss@acme.example", 0)]
    assert ticket.here and ticket.status == Status.QUEUED
    assert [e.reminder for e in at(ticket, 230)] == [1]
    assert at(ticket, 250) == []
    ticket.claim("carol")
    assert at(ticket, 299) == []  # claimed: no more reminders
    assert kinds(at(ticket, 400)) == ["SlaWarning:resolution", "SlaBreached:resolution"]


def test_resolving_stops_every_alarm():
    ticket = item(tier=1)
    ticket.claim("alice")
    ticket.record(ticket.resolve("alice", "done", None))
    assert ticket.next_alarm_at is None and at(ticket, 10_000) == []
    assert not any(isinstance(e, SlaWarning | TicketEscalated) for e in at(ticket, 20_000))
