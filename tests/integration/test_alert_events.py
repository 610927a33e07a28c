"""An integration's events through intake's use cases on a real database (both): de-duplication under
concurrency, what each event stages, and that a refusal changes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import func, select

from shared.auth import Principal, Role
from shared.db import Database
from shared.messaging.inbox import InboxEntry
from shared.messaging.outbox import OutboxMessage

from services.intake.integrations import handlers
from services.intake.integrations.domain import UnknownAlert
from services.intake.integrations.models import Alert
from services.intake.integrations.schemas import AlertmanagerNotification, EventBody, IntegrationCreate
from services.intake.models import MODELS, IntakeTicket

ADMIN = Principal(sub="it@acme.example", role=Role.ORG_ADMIN, org="acme")
WEEK = timedelta(days=7)


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.create_tables([*MODELS, OutboxMessage, InboxEntry])
    yield database
    await database.dispose()


async def integration(db: Database) -> str:
    body = IntegrationCreate(name="prometheus", organization="acme", contact={"email": "noc@acme.example", "name": "NOC"})
    created, key = await handlers.create_integration(db, body=body, principal=ADMIN)
    assert (await handlers.principal_for_key(db, key)).sub == created.id
    return created.id


def trigger(key: str, action: str = "trigger") -> EventBody:
    return EventBody(dedup_key=key, action=action, summary=f"{key} firing" if action == "trigger" else None)


async def staged_types(db: Database) -> list[str]:
    async with db.read() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [dict(r.headers)["ce_type"] for r in rows if r.topic == "tickets.events"]


async def test_triggers_of_one_new_key_at_once_open_one_ticket_and_count_every_occurrence(db):
    integration_id = await integration(db)
    received = await asyncio.gather(
        *(handlers.receive_event(db, integration_id=integration_id, body=trigger("k"), window=WEEK) for _ in range(8))
    )
    assert len({r.ticket_id for r in received}) == 1
    assert sorted(r.occurrences for r in received) == list(range(1, 9))
    async with db.read() as session:
        assert (await session.exec(select(func.count()).select_from(IntakeTicket))).one() == 1
        assert (await session.exec(select(Alert.occurrences))).one() == 8
    assert sorted(await staged_types(db)) == ["ticket.alert_repeated"] * 7 + ["ticket.submitted"]


async def test_an_unknown_key_is_refused_on_resolve_and_nothing_is_staged(db):
    integration_id = await integration(db)
    with pytest.raises(UnknownAlert):
        await handlers.receive_event(db, integration_id=integration_id, body=trigger("nope", "resolve"), window=WEEK)
    assert await staged_types(db) == []


async def test_a_resolve_stages_one_resolution_from_the_source_and_a_second_changes_nothing(db):
    integration_id = await integration(db)
    ticket_id = (await handlers.receive_event(db, integration_id=integration_id, body=trigger("k"), window=WEEK)).ticket_id
    for _ in range(2):
        await handlers.receive_event(db, integration_id=integration_id, body=trigger("k", "resolve"), window=WEEK)
    async with db.read() as session:
        ticket = await session.get(IntakeTicket, ticket_id)
    assert (ticket.status, ticket.level) == ("resolved", 0)  # resolved before triage routed it
    assert await staged_types(db) == ["ticket.submitted", "ticket.resolved"]


def notification(status: str, *alerts: tuple[str, str]) -> AlertmanagerNotification:
    """A version-4 notification of the group `{}:{alertname="DiskFull"}`, with (fingerprint, status) alerts."""
    return AlertmanagerNotification(
        version="4", status=status, groupKey='{}:{alertname="DiskFull"}', groupLabels={"alertname": "DiskFull"},
        commonLabels={"alertname": "DiskFull", "severity": "critical"}, commonAnnotations={"summary": "Disk full"},
        alerts=[{"status": s, "fingerprint": f, "labels": {"alertname": "DiskFull", "instance": f}} for f, s in alerts],
    )


async def test_an_integration_deduplicating_by_group_keeps_one_ticket_for_the_alert_group(db):
    body = IntegrationCreate(name="am", kind="alertmanager", alertmanager={"dedup": "group"}, organization="acme",
                             contact={"email": "noc@acme.example", "name": "NOC"})
    integration_id = (await handlers.create_integration(db, body=body, principal=ADMIN))[0].id

    async def notify(status, *alerts):
        return await handlers.receive_notification(
            db, integration_id=integration_id, notification=notification(status, *alerts), window=WEEK)

    first = await notify("firing", ("a1", "firing"), ("a2", "firing"))
    again = await notify("firing", ("a1", "firing"), ("a2", "resolved"), ("a3", "firing"))
    over = await notify("resolved", ("a1", "resolved"), ("a3", "resolved"))

    (ticket_id,) = {r.ticket_id for _, r in first + again + over}
    assert [(key, r.outcome) for key, r in first] == [("a1", "created"), ("a2", "created")]
    assert {r.outcome for _, r in again} == {"repeated"} and again[0][1].occurrences == 2
    assert {r.outcome for _, r in over} == {"resolved"}
    async with db.read() as session:
        ticket = await session.get(IntakeTicket, ticket_id)
        assert ticket.title == "Disk full (2 of 2 alerts firing)" and (ticket.impact, ticket.urgency) == ("high", "high")
        assert (await session.exec(select(func.count()).select_from(Alert))).one() == 1
    assert await staged_types(db) == ["ticket.submitted", "ticket.alert_repeated", "ticket.resolved"]
