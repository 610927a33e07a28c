"""The plumbing against the real broker and real databases: outbox relay, inbox, DLQ."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from sqlmodel import Field, SQLModel, col, func, select

from shared.config import ServiceSettings
from shared.db import Database
from shared.messages import encode, new_event
from shared.messages.tickets import TicketCommented
from shared.messaging.broker import ensure_topics, make_producer
from shared.messaging.consumer import ConsumerRunner
from shared.messaging.doorbell import Bell, folder
from shared.messaging.fetching import BrokerPaced, Woken
from shared.messaging.inbox import InboxEntry, first_deliveries
from shared.messaging.lease import Lease, LeaseKeeper
from shared.messaging.outbox import OutboxMessage, OutboxRelay, add_to_outbox
from shared.topics import dlq
from tests.helpers import eventually


class AppliedComment(SQLModel, table=True):
    """A test table: one row per comment event a handler applied."""

    __tablename__ = "test_applied_comments"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str
    body: str


TABLES = [OutboxMessage, InboxEntry, Lease, AppliedComment]


def comment(ticket_id: str, body: str):
    return new_event("test", TicketCommented(ticket_id=ticket_id, tier=1, author="alice", body=body))


@pytest.fixture
async def topic(kafka_bootstrap) -> str:
    name = f"test.{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [name, dlq(name)], partitions=3)
    return name


@pytest.fixture
async def db(database_url) -> Database:
    database = Database(database_url)
    await database.create_tables(TABLES)
    yield database
    await database.dispose()


@pytest.fixture
def settings(kafka_bootstrap) -> ServiceSettings:
    return ServiceSettings(
        service_name=f"test-{uuid.uuid4().hex[:8]}", kafka_bootstrap_servers=kafka_bootstrap, consumer_max_retries=1
    )


@pytest.fixture
async def producer(settings):
    producer = make_producer(settings)
    await producer.start()
    yield producer
    await producer.stop()


async def read_all(bootstrap: str, topic: str, count: int, timeout_s: float = 20.0) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=50)
    await consumer.start()
    records = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(records) < count:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_outbox_relay_publishes_staged_events_in_order_and_marks_them(db, producer, topic, kafka_bootstrap):
    relay = OutboxRelay(db, producer)
    events = [comment(f"T{i % 3}", f"note {i}") for i in range(30)]
    async with db.unit_of_work() as session:
        for event in events:
            add_to_outbox(session, topic, event)

    assert await relay.relay_once() == 30
    records = await read_all(kafka_bootstrap, topic, 30)

    assert sorted(dict(r.headers)["ce_id"].decode() for r in records) == sorted(e.id for e in events)
    for key in ("T0", "T1", "T2"):
        sent = [e.id for e in events if e.subject == key]
        got = [dict(r.headers)["ce_id"].decode() for r in sorted(records, key=lambda r: r.offset) if r.key == key.encode()]
        assert got == sent
    assert await relay.backlog() == 0


async def test_rolled_back_unit_of_work_stages_nothing(db, producer, topic):
    relay = OutboxRelay(db, producer)
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as session:
            add_to_outbox(session, topic, comment("T1", "never"))
            raise RuntimeError("the state change failed")
    assert await relay.backlog() == 0


async def test_retained_rows_are_republished_after_the_broker_lost_them(db, producer, topic):
    relay = OutboxRelay(db, producer)
    async with db.unit_of_work() as session:
        add_to_outbox(session, topic, comment("T1", "kept"))
    await relay.relay_once()

    assert await relay.republish_retained() == 1
    assert await relay.backlog() == 1
    assert await relay.relay_once() == 1


async def test_one_replica_at_a_time_holds_the_relay_lease_and_a_clean_stop_hands_it_over(db):
    first = LeaseKeeper(db, name="outbox-relay", holder="replica-a")
    assert await first.keep()
    assert not await LeaseKeeper(db, name="outbox-relay", holder="replica-b").keep()

    await first.release()
    assert await LeaseKeeper(db, name="outbox-relay", holder="replica-b").keep()


async def test_sent_rows_are_marked_published_once_the_relay_marks_them(db, producer, topic):
    relay = OutboxRelay(db, producer)
    async with db.unit_of_work() as session:
        for i in range(5):
            add_to_outbox(session, topic, comment("T1", f"note {i}"))

    assert await relay.publish_batch() == 5
    assert await relay.backlog() == 0  # sent, not yet marked: not waiting
    assert await relay.publish_batch() == 0  # and not sent again
    await relay.close()
    async with db.read() as session:
        unmarked = (await session.exec(select(func.count()).where(col(OutboxMessage.published_at).is_(None)))).one()
    assert unmarked == 0


async def applied(db: Database) -> list[AppliedComment]:
    async with db.read() as session:
        return list((await session.exec(select(AppliedComment).order_by(col(AppliedComment.id)))).all())


async def run_consumer(settings, db, producer, topic, handler):
    runner = ConsumerRunner(
        settings=settings, db=db, producer=producer, subscriptions={topic: {"ticket.commented": handler}}
    )
    await runner.start()
    task = asyncio.create_task(runner.run())
    return runner, task


async def stop_consumer(runner, task):
    runner.stop()
    await asyncio.wait_for(task, 10)
    await runner.close()


async def record_comment(session, event) -> None:
    session.add(AppliedComment(event_id=event.id, body=event.data.body))


async def test_the_same_event_delivered_twice_is_applied_once(db, producer, topic, settings):
    twice, sentinel = comment("T1", "twice"), comment("T1", "sentinel")
    for event in (twice, twice, sentinel):
        headers, value = encode(event)
        await producer.send_and_wait(topic, value=value, key=event.key, headers=headers)

    runner, task = await run_consumer(settings, db, producer, topic, record_comment)
    try:
        await eventually(lambda: _has_body(db, "sentinel"))
    finally:
        await stop_consumer(runner, task)

    assert [row.body for row in await applied(db)] == ["twice", "sentinel"]


async def test_the_inbox_tells_new_events_from_repeats_earlier_or_in_the_same_batch(db):
    async with db.unit_of_work() as session:
        assert await first_deliveries(session, [("t", "a"), ("t", "b")]) == [True, True]
    async with db.unit_of_work() as session:
        keys = [("t", "b"), ("t", "c"), ("u", "b"), ("t", "c")]  # applied before; new; another topic; repeat
        assert await first_deliveries(session, keys) == [False, True, True, False]
    async with db.read() as session:
        assert len((await session.exec(select(InboxEntry))).all()) == 4


async def _has_body(db: Database, body: str) -> bool:
    return any(row.body == body for row in await applied(db))


async def test_poison_goes_to_the_dlq_with_its_reason_and_the_partition_moves_on(
    db, producer, topic, settings, kafka_bootstrap
):
    good = comment("T1", "after the poison")
    headers, value = encode(good)
    unknown = [(n, b"ticket.exploded" if n == "ce_type" else v) for n, v in headers]
    poison = [
        (headers, b"{not json"),  # bytes that are not JSON
        (unknown, value),  # an unknown event type
        (headers, b'{"ticket_id": "T1"}'),  # a payload that breaks its schema
        ([], b"no envelope at all"),  # no CloudEvents headers
    ]
    for h, v in poison:
        await producer.send_and_wait(topic, value=v, key=b"T1", headers=h)
    # A known type this consumer does not handle: skipped by its header, its payload never read.
    not_ours = [(n, b"ticket.resolved" if n == "ce_type" else v) for n, v in headers]
    skipped = await producer.send_and_wait(topic, value=b"{not json", key=b"T1", headers=not_ours)
    await producer.send_and_wait(topic, value=value, key=good.key, headers=headers)

    runner, task = await run_consumer(settings, db, producer, topic, record_comment)
    try:
        await eventually(lambda: _has_body(db, "after the poison"))
    finally:
        await stop_consumer(runner, task)

    dead = await read_all(kafka_bootstrap, dlq(topic), len(poison))
    reasons = [dict(r.headers)["dlq_reason"].decode() for r in dead]
    assert "not JSON" in reasons[0] or "Invalid JSON" in reasons[0]
    assert "unknown event type 'ticket.exploded'" in reasons[1]
    assert "payload does not match ticket.commented" in reasons[2]
    assert "missing CloudEvents attributes" in reasons[3]
    assert all(dict(r.headers)["dlq_source_topic"].decode() == topic for r in dead)
    assert len({dict(r.headers)["dlq_source_offset"] for r in dead}) == len(poison)
    assert str(skipped.offset).encode() not in {dict(r.headers)["dlq_source_offset"] for r in dead}
    assert runner.dead_lettered == len(poison)


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_bounded_retries(
    db, producer, topic, settings, kafka_bootstrap
):
    attempts: list[str] = []

    async def fragile(session, event) -> None:
        attempts.append(event.data.body)
        if event.data.body == "cursed":
            raise ValueError("cannot apply this one")
        await record_comment(session, event)

    for event in (comment("T1", "cursed"), comment("T1", "fine")):
        headers, value = encode(event)
        await producer.send_and_wait(topic, value=value, key=event.key, headers=headers)

    runner, task = await run_consumer(settings, db, producer, topic, fragile)
    try:
        await eventually(lambda: _has_body(db, "fine"))
    finally:
        await stop_consumer(runner, task)

    dead = await read_all(kafka_bootstrap, dlq(topic), 1)
    assert "cannot apply this one" in dict(dead[0].headers)["dlq_reason"].decode()
    assert [row.body for row in await applied(db)] == ["fine"]
    assert attempts.count("cursed") == 1 + 1 + settings.consumer_max_retries  # batch try, then alone with retries


@pytest.fixture
def wakeup_dir():
    with tempfile.TemporaryDirectory(prefix="wake-", dir="/tmp") as path:  # short: a socket's path has 107 bytes
        yield Path(path)


async def _started(settings, db, producer, topic) -> tuple[ConsumerRunner, asyncio.Task]:
    runner, task = await run_consumer(settings, db, producer, topic, record_comment)
    await eventually(lambda: _assigned_and_drained(runner), timeout_s=30)
    return runner, task


async def _assigned_and_drained(runner: ConsumerRunner) -> bool:
    fetching = runner._fetching
    return runner.assigned and isinstance(fetching, Woken) and not fetching._draining and not fetching._rung


async def test_a_woken_consumer_handles_a_relayed_event_at_once_without_waiting_for_its_safety_poll(
    db, producer, topic, settings, wakeup_dir
):
    settings = settings.model_copy(update={"wakeup_dir": wakeup_dir, "consumer_safety_poll_s": 600})
    runner, task = await _started(settings, db, producer, topic)
    relay = OutboxRelay(db, producer, bell=Bell(folder(settings.kafka_bootstrap_servers, wakeup_dir)))
    try:
        for round_ in range(3):  # each one rung and fetched, the partitions paused in between
            async with db.unit_of_work() as session:
                for i in range(4):
                    add_to_outbox(session, topic, comment(f"T{i}", f"rung {round_}.{i}"))
            await relay.relay_once()
            await eventually(lambda: _count(db, 4 * (round_ + 1)), timeout_s=5)
        assert runner._fetching.wakeups >= 1
        assert set(runner._consumer.paused()) == set(runner._consumer.assignment())  # asleep again
    finally:
        await stop_consumer(runner, task)


async def test_a_woken_consumer_sees_what_another_client_published_at_its_safety_poll(
    db, producer, topic, settings, wakeup_dir
):
    settings = settings.model_copy(update={"wakeup_dir": wakeup_dir, "consumer_safety_poll_s": 1.0})
    runner, task = await _started(settings, db, producer, topic)
    try:
        headers, value = encode(event := comment("T1", "rang no bell"))
        await producer.send_and_wait(topic, value=value, key=event.key, headers=headers)
        await eventually(lambda: _has_body(db, "rang no bell"), timeout_s=10)
    finally:
        await stop_consumer(runner, task)


async def test_without_wake_ups_the_consumer_long_polls_the_broker(db, producer, topic, settings):
    settings = settings.model_copy(update={"consumer_wakeups": False})
    runner, task = await run_consumer(settings, db, producer, topic, record_comment)
    try:
        headers, value = encode(event := comment("T1", "polled"))
        await producer.send_and_wait(topic, value=value, key=event.key, headers=headers)
        await eventually(lambda: _has_body(db, "polled"), timeout_s=30)
        assert isinstance(runner._fetching, BrokerPaced) and not runner._consumer.paused()
    finally:
        await stop_consumer(runner, task)


async def _count(db: Database, n: int) -> bool:
    return len(await applied(db)) == n
