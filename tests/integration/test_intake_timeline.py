"""A submission's own entry on the requester's timeline: written with the submission, never read back."""

from __future__ import annotations

from datetime import datetime

import pytest
from aiokafka import AIOKafkaProducer
from sqlmodel import select

from shared.auth import Principal, Role
from shared.db import Database
from shared.messages import decode, encode, new_event
from shared.messages.tickets import TicketCommented, TicketSubmitted
from shared.messaging.inbox import InboxEntry
from shared.messaging.outbox import OutboxMessage
from shared.topics import TICKETS_EVENTS

from services.intake.models import MODELS
from services.intake.requester.handlers import get_ticket
from services.intake.submission.handlers import submit_ticket
from services.intake.submission.schemas import TicketCreate
from services.intake.timeline import timeline_data
from tests.e2e.test_operations import scrape, value
from tests.e2e.test_ticket_journey import SUBMISSION as JOURNEY
from tests.helpers import eventually, requester_headers

OPS = Principal(sub="ops@escalier.example", role=Role.OPS, org="escalier")


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.create_tables([*MODELS, OutboxMessage, InboxEntry])
    yield database
    await database.dispose()


async def test_a_submission_is_on_its_timeline_as_its_event_on_the_audit_trail_says(db):
    accepted, created = await submit_ticket(db, body=TicketCreate.model_validate(JOURNEY), idempotency_key=None)
    assert created

    async with db.read() as session:
        row = (await session.exec(
            select(OutboxMessage).where(OutboxMessage.topic == TICKETS_EVENTS, OutboxMessage.key == accepted.id.encode())
        )).one()
    # What the projection wrote when it read the event back from the broker: the entry must not change.
    sent = decode([(name, raw.encode()) for name, raw in row.headers], row.value)
    _, timeline = await get_ticket(db, ticket_id=accepted.id, principal=OPS)
    assert [(e.event_id, e.type, e.time, e.data) for e in timeline] == [
        (sent.id, "ticket.submitted", sent.time, timeline_data(sent.data))
    ]


@pytest.mark.e2e
async def test_a_redelivered_submission_adds_nothing_to_the_timeline_and_is_not_dead_lettered(
    http, system, kafka_bootstrap
):
    intake = system.services["intake"].url
    body = {**JOURNEY, "requester": {"email": "again@acme.example", "name": "Again", "language": "en"}}
    ticket_id = (await http.post(f"{intake}/tickets", json=body, headers=requester_headers("again@acme.example", "acme"))).json()["id"]

    async def routed():
        view = (await http.get(f"{intake}/tickets/{ticket_id}")).json()
        return view if view["status"] == "queued" else None

    before = (await eventually(routed, timeout_s=60))["timeline"]
    dead_before = value(await scrape(http, system, "intake"), "escalier_dead_lettered", "escalier_dead_lettered_total")
    first = before[0]
    assert first["type"] == "ticket.submitted"
    # The same event again (a republished outbox, a replay), then a fact after it in the same
    # partition: once that one is on the timeline, intake has read past the repeat.
    again = new_event(
        "intake", TicketSubmitted.model_validate(first["data"]), event_id=first["id"], time=datetime.fromisoformat(first["time"])
    )
    after = new_event("tier1", TicketCommented(ticket_id=ticket_id, tier=1, author="alice", body="Looking at it."))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for event in (again, after):
            event_headers, raw = encode(event)
            await producer.send_and_wait(TICKETS_EVENTS, value=raw, key=event.key, headers=event_headers)
    finally:
        await producer.stop()

    async def commented():
        view = (await http.get(f"{intake}/tickets/{ticket_id}")).json()
        return view["timeline"] if after.id in {e["id"] for e in view["timeline"]} else None

    timeline = await eventually(commented, timeout_s=30)
    ids = [e["id"] for e in timeline]
    assert len(ids) == len(set(ids)) and {e["id"] for e in before} <= set(ids)
    assert [e for e in timeline if e["type"] == "ticket.submitted"] == [first]
    dead_after = value(await scrape(http, system, "intake"), "escalier_dead_lettered", "escalier_dead_lettered_total")
    assert dead_after == dead_before
