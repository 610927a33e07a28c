"""Facts of one ticket reaching intake out of order, through the real broker: the view never rolls back."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaProducer

from shared.messages import encode, new_event
from shared.messages.tickets import TicketAssigned, TicketResolved
from shared.topics import TICKETS_EVENTS
from tests.e2e.test_ticket_journey import SUBMISSION as JOURNEY
from tests.helpers import eventually, requester_headers

pytestmark = pytest.mark.e2e

SUBMISSION = {**JOURNEY, "requester": {"email": "late@acme.example", "name": "Late", "language": "en"}}


async def test_a_late_assignment_after_the_resolution_leaves_the_ticket_resolved(http, system, kafka_bootstrap):
    intake = system.services["intake"].url
    headers = requester_headers("late@acme.example", "acme")
    ticket_id = (await http.post(f"{intake}/tickets", json=SUBMISSION, headers=headers)).json()["id"]

    async def routed():
        view = (await http.get(f"{intake}/tickets/{ticket_id}")).json()
        return view if view["status"] == "queued" else None

    queued = await eventually(routed, timeout_s=60)
    # The tier resolved it, then a slower relay delivers the assignment that came first.
    resolved = new_event("tier1", TicketResolved(ticket_id=ticket_id, level=0, resolution="article helped"))
    assigned = new_event("tier1", TicketAssigned(ticket_id=ticket_id, tier=queued["tier"], assignee="alice"))
    assigned = dataclasses.replace(assigned, time=resolved.time - timedelta(seconds=1))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for event in (resolved, assigned):
            event_headers, value = encode(event)
            await producer.send_and_wait(TICKETS_EVENTS, value=value, key=event.key, headers=event_headers)
    finally:
        await producer.stop()

    async def both_applied():
        view = (await http.get(f"{intake}/tickets/{ticket_id}")).json()
        return view if {resolved.id, assigned.id} <= {e["id"] for e in view["timeline"]} else None

    view = await eventually(both_applied, timeout_s=30)
    assert view["status"] == "resolved" and view["level"] == 0
    assert view["assignee"] == "alice"  # nothing later had set it: the late fact fills it in
    ids = [e["id"] for e in view["timeline"]]
    assert ids.index(assigned.id) < ids.index(resolved.id), "the timeline reads in the order things happened"
