"""SLA clocks and automatic escalation, end to end, on contracts of a few seconds."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from aiokafka import AIOKafkaConsumer

from shared.messages import decode
from shared.topics import TICKETS_EVENTS
from tests.e2e.test_ticket_journey import SUBMISSION, agent, queued_at, submit
from tests.helpers import eventually, requester_headers

pytestmark = pytest.mark.e2e


async def audit_trail(bootstrap: str, ticket_id: str, until, timeout_s: float = 40.0) -> list:
    """The ticket's events on `tickets.events`, read from the broker until `until(events)` holds."""
    consumer = AIOKafkaConsumer(
        TICKETS_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=50
    )
    await consumer.start()
    events = []
    try:
        async with asyncio.timeout(timeout_s):
            while not until(events):
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    events += [decode(r.headers, r.value) for r in records if r.key == ticket_id.encode()]
    except TimeoutError:
        raise AssertionError(f"audit trail incomplete: {[(e.type, getattr(e.data, 'clock', '')) for e in events]}")
    finally:
        await consumer.stop()
    return events


def alerts(events) -> list:
    return [e.data for e in events if e.type == "ticket.sla_breached" and e.data.action == "alerted"]


async def test_an_unclaimed_ticket_climbs_to_tier_three_on_its_own_and_alerts_the_escalation_contact(
    http, system, kafka_bootstrap, webhook_receiver
):
    ticket_id = await submit(http, system, organization="fastlane", callback_url=webhook_receiver.url("sla-climb"))

    events = await audit_trail(kafka_bootstrap, ticket_id, until=lambda evs: len(alerts(evs)) >= 2)
    facts = [(e.type, getattr(e.data, "clock", None), getattr(e.data, "tier", None) or getattr(e.data, "from_tier", None)) for e in events]

    for tier in (1, 2):
        warning = facts.index(("ticket.sla_warning", "tier_budget", tier))
        breach = facts.index(("ticket.sla_breached", "tier_budget", tier))
        escalation = facts.index(("ticket.escalated", None, tier))
        assert warning < breach < escalation
    escalations = [e.data for e in events if e.type == "ticket.escalated"]
    assert [(e.from_tier, e.to_tier, e.automatic) for e in escalations] == [(1, 2, True), (2, 3, True)]
    assert all("budget" in e.reason for e in escalations)
    first_alert, reminder = alerts(events)[:2]
    assert (first_alert.tier, first_alert.alert_contact, first_alert.reminder) == (3, "duty-manager@fastlane.example", 0)
    assert reminder.reminder == 1
    assert sum(1 for f in facts if f == ("ticket.sla_breached", "tier_budget", 1)) == 1  # nothing fires twice
    lateness = [e.time - e.data.due_at for e in events if e.type.startswith("ticket.sla_")]
    assert all(timedelta(0) <= late < timedelta(seconds=1) for late in lateness), lateness  # on time

    at_tier3 = (await http.get(f"{system.services['tier3'].url}/tickets/{ticket_id}")).json()
    assert at_tier3["status"] == "queued" and at_tier3["sla"]["clocks"]["tier_budget"]["breached"]
    assert set(at_tier3["sla"]["tier_seconds"]) == {"1", "2", "3"}
    assert 2.5 < at_tier3["sla"]["tier_seconds"]["1"] < 4.5

    view = (await http.get(f"{system.services['intake'].url}/tickets/{ticket_id}")).json()
    assert (view["status"], view["tier"]) == ("queued", 3)
    assert view["sla"]["first_response"]["breached"]
    notified = [c["json"]["type"] for c in webhook_receiver.calls_to("sla-climb")]
    assert notified.count("ticket.escalated") == 2
    assert not any(t.startswith("ticket.sla_") for t in notified)  # clock alarms are for agents


async def test_claiming_at_tier_three_stops_the_reminders(http, system, kafka_bootstrap):
    ticket_id = await submit(http, system, organization="fastlane")
    await audit_trail(kafka_bootstrap, ticket_id, until=lambda evs: len(alerts(evs)) >= 1)
    assert (await agent(http, system, 3, ticket_id, "claim", agent="carol")).status_code == 200
    claimed = await audit_trail(kafka_bootstrap, ticket_id, until=lambda evs: any(
        e.type == "ticket.assigned" and e.data.tier == 3 for e in evs
    ))
    tier3 = f"{system.services['tier3'].url}/tickets/{ticket_id}"
    reminders = (await http.get(tier3)).json()["sla"]["reminders"]
    assert reminders == len(alerts(claimed)) - 1
    # Proving an absence takes time: two reminder intervals (2 s each) pass with no reminder.
    await asyncio.sleep(4.5)
    assert (await http.get(tier3)).json()["sla"]["reminders"] == reminders


async def test_waiting_on_the_requester_moves_the_due_time_by_the_time_paused(http, system):
    intake = system.services["intake"].url
    ticket_id = await submit(http, system, organization="patient")
    await queued_at(http, system, 1, ticket_id)
    assert (await agent(http, system, 1, ticket_id, "claim", agent="alice")).status_code == 200

    async def view(predicate):
        async def probe():
            body = (await http.get(f"{intake}/tickets/{ticket_id}")).json()
            return body if predicate(body) else None
        return await eventually(probe)

    before = await view(lambda v: v["status"] == "in_progress" and v["sla"])
    due_before = datetime.fromisoformat(before["sla"]["resolution"]["due_at"])
    assert (await agent(http, system, 1, ticket_id, "request-info", agent="alice", question="Which laptop?")).status_code == 200
    paused = await view(lambda v: v["status"] == "waiting_on_requester")
    assert paused["sla"]["resolution"]["paused"] and paused["sla"]["resolution"]["due_at"] is None
    assert paused["sla"]["first_response"]["stopped"]  # asking the requester is a response

    ann = requester_headers(SUBMISSION["requester"]["email"], "patient")
    reply = await http.post(f"{intake}/tickets/{ticket_id}/replies", json={"body": "The ThinkPad"}, headers=ann)
    assert reply.status_code in (200, 201, 202), reply.text
    resumed = await view(lambda v: v["status"] == "in_progress" and not v["sla"]["resolution"]["paused"])

    times = {e["type"]: datetime.fromisoformat(e["time"]) for e in resumed["timeline"]}
    paused_for = times["ticket.requester_replied"] - times["ticket.info_requested"]
    due_after = datetime.fromisoformat(resumed["sla"]["resolution"]["due_at"])
    assert abs((due_after - due_before) - paused_for) < timedelta(milliseconds=5)

    at_tier = (await http.get(f"{system.services['tier1'].url}/tickets/{ticket_id}")).json()
    tier_due = datetime.fromisoformat(at_tier["sla"]["clocks"]["resolution"]["due_at"])
    assert abs(tier_due - due_after) < timedelta(milliseconds=5)


async def test_a_tier_restarted_after_a_crash_fires_what_fell_due_while_it_was_down_once(http, system, kafka_bootstrap):
    ticket_id = await submit(http, system, organization="fastlane")
    queued = await queued_at(http, system, 1, ticket_id)
    budget_due = datetime.fromisoformat(queued["sla"]["clocks"]["tier_budget"]["due_at"])

    tier1 = system.services["tier1"]
    tier1.process.kill()  # kill -9: no graceful shutdown
    tier1.process.wait()
    # Let the budget run out while tier 1 is down: waiting for the clock, not for a condition.
    await asyncio.sleep(max(0.0, (budget_due - datetime.now(budget_due.tzinfo)).total_seconds()) + 0.5)
    tier1.start()
    await asyncio.to_thread(system.wait_ready, 60)

    events = await audit_trail(kafka_bootstrap, ticket_id, until=lambda evs: any(
        e.type == "ticket.escalated" and e.data.from_tier == 1 for e in evs
    ))
    events = await audit_trail(kafka_bootstrap, ticket_id, until=lambda evs: len(evs) >= len(events))
    from_tier1 = [e for e in events if e.type == "ticket.escalated" and e.data.from_tier == 1]
    breaches = [e for e in events if e.type == "ticket.sla_breached" and e.data.tier == 1 and e.data.clock == "tier_budget"]
    assert len(from_tier1) == 1 and len(breaches) == 1
    assert from_tier1[0].data.automatic
