"""Deliveries reach the dispatcher as they commit, and only what it was not handed is read from the ledger.

Against real databases and a real receiver: the fan-out hands its committed rows over in memory;
the rescan (at startup, then rarely) finds what a previous run or another replica left pending.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from shared.db import Database
from shared.messages import new_event
from shared.messages.tickets import TicketCommented

from services.notifier.dispatch import ledger as deliveries
from services.notifier.dispatch.domain import FailureOutcome
from services.notifier.domain import DeliveryStatus
from services.notifier.fanout import handlers
from services.notifier.fanout.domain import EmailOptions
from services.notifier.models import MODELS
from tests.helpers import eventually
from tests.integration.test_notifier_delivery import dispatch, ledger, record, submit  # noqa: F401 (a fixture)


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.create_tables(MODELS)
    yield database
    await database.dispose()


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine of this process runs meanwhile."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def reads_of_the_ledger(seen: list[str]) -> list[str]:
    return [s for s in seen if s.lstrip().upper().startswith("SELECT") and "notifier_deliveries" in s]


async def test_staged_deliveries_get_their_ids_at_commit_and_are_handed_over(db, webhook_receiver):
    ticket_id = await submit(db, callback_url=webhook_receiver.url("ids"))
    handed: list = []
    db.on_commit(lambda session: handed.extend(deliveries.committed_deliveries(session)))
    events = [new_event("test", TicketCommented(ticket_id=ticket_id, tier=1, author="al", body=f"n{i}")) for i in range(3)]
    async with db.unit_of_work() as session:
        for e in events:
            await handlers.record_event(session, e, email=EmailOptions())

    rows = {(r.event_id, r.target): r for r in await ledger(db, ticket_id)}
    assert len(handed) == 6  # callback and requester e-mail, for each of the three
    for delivery in handed:
        row = rows[(delivery.event_id, delivery.target)]
        assert (delivery.id, delivery.lane, delivery.url, delivery.body) == (row.id, row.lane, row.url, row.body)
    assert [d.body["data"]["body"] for d in handed if d.target == "callback"] == ["n0", "n1", "n2"]


async def test_a_committed_delivery_is_sent_without_reading_the_ledger_back(db, dispatch, webhook_receiver):
    path = f"handed/{uuid.uuid4().hex[:6]}"
    with statements() as seen:
        dispatch(dispatch_rescan_interval_s=3600)
        await eventually(lambda: _true(reads_of_the_ledger(seen)), timeout_s=10)  # the startup rescan
    with statements() as seen:
        ticket_id = await submit(db, callback_url=webhook_receiver.url(path))
        await record(db, TicketCommented(ticket_id=ticket_id, tier=1, author="al", body="hello"))
        calls = await eventually(lambda: _true(webhook_receiver.calls_to(path), 2), timeout_s=10)
    assert [c["json"]["type"] for c in calls] == ["ticket.submitted", "ticket.commented"]
    assert reads_of_the_ledger(seen) == []


async def test_deliveries_left_pending_by_a_previous_run_are_sent_at_startup(db, dispatch, webhook_receiver):
    path = f"leftover/{uuid.uuid4().hex[:6]}"
    ticket_id = await submit(db, callback_url=webhook_receiver.url(path))  # committed; nobody was handed it
    dispatch(dispatch_rescan_interval_s=3600)
    await eventually(lambda: _true(webhook_receiver.calls_to(path)), timeout_s=10)
    await eventually(lambda: _all_delivered(db, ticket_id), timeout_s=10)


async def test_another_replicas_deliveries_are_found_by_the_rescan(db, database_url, dispatch, webhook_receiver):
    path = f"replica/{uuid.uuid4().hex[:6]}"
    dispatch(dispatch_rescan_interval_s=0.2)
    other = Database(database_url)  # its commits wake nobody here
    try:
        await submit(other, callback_url=webhook_receiver.url(path))
    finally:
        await other.dispose()
    await eventually(lambda: _true(webhook_receiver.calls_to(path)), timeout_s=10)


async def test_an_idle_dispatcher_runs_no_statement(db, dispatch):
    with statements() as seen:
        dispatch()
        await eventually(lambda: _true(reads_of_the_ledger(seen)), timeout_s=10)  # the startup rescan
    with statements() as seen:
        await asyncio.sleep(1.5)  # the window watched, not a synchronisation: it polled every second
    assert seen == []


async def test_a_replayed_dead_delivery_is_handed_over_and_sent_at_once(db, dispatch, webhook_receiver):
    path = f"replayed/{uuid.uuid4().hex[:6]}"
    webhook_receiver.control.fail(path)
    dispatch(dispatch_rescan_interval_s=3600, webhook_max_attempts=1)
    ticket_id = await submit(db, callback_url=webhook_receiver.url(path))
    [dead] = await eventually(lambda: _with_status(db, ticket_id, "dead"), timeout_s=10)
    webhook_receiver.control.recover(path)
    await deliveries.retry(db, delivery_id=dead.id)
    await eventually(lambda: _true(webhook_receiver.calls_to(path)), timeout_s=10)
    await eventually(lambda: _all_delivered(db, ticket_id), timeout_s=10)


async def test_outcomes_are_recorded_together_failures_first_and_a_cancelled_delivery_stays_so(db, webhook_receiver):
    tickets = [await submit(db, callback_url=webhook_receiver.url("outcomes")) for _ in range(4)]
    retried, delivered, dead, cancelled = [(await ledger(db, t, channel="webhook"))[0] for t in tickets]
    async with db.unit_of_work() as session:
        row = await session.get(type(cancelled), cancelled.id)
        row.status = DeliveryStatus.CANCELLED
    later = datetime.now(UTC) + timedelta(seconds=30)
    failed = [
        deliveries.FailedAttempt(retried.id, "HTTP 503", FailureOutcome(1, DeliveryStatus.PENDING, later)),
        deliveries.FailedAttempt(delivered.id, "HTTP 503", FailureOutcome(1, DeliveryStatus.PENDING, later)),
        deliveries.FailedAttempt(dead.id, "x" * 5000, FailureOutcome(1, DeliveryStatus.DEAD, later)),
    ]
    await deliveries.record_outcomes(db, delivered=[delivered.id, cancelled.id], failed=failed)

    after = {t: (await ledger(db, t, channel="webhook"))[0] for t in tickets}
    r, d, x, c = (after[t] for t in tickets)
    assert (r.status, r.attempts, r.next_attempt_at, r.last_error) == ("pending", 1, later, "HTTP 503")
    assert (d.status, d.attempts, d.delivered_at is not None) == ("delivered", 1, True)
    assert (x.status, len(x.last_error)) == ("dead", 1000)
    assert (c.status, c.delivered_at) == ("cancelled", None)


async def _true(items: list, n: int = 1) -> list | None:
    return items if len(items) >= n else None


async def _all_delivered(db: Database, ticket_id: str) -> list | None:
    rows = await ledger(db, ticket_id)
    return rows if rows and all(r.status == "delivered" for r in rows) else None


async def _with_status(db: Database, ticket_id: str, status: str) -> list | None:
    return [r for r in await ledger(db, ticket_id, channel="webhook") if r.status == status] or None
