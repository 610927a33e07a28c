"""Group commit (Database.batched) on real databases: many works, few transactions, each work
all or nothing, a failing one failing alone."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from shared import sqlite_inline, tracing
from shared.db import Database
from shared.messages import new_event
from shared.messages.tickets import TicketCommented
from shared.messaging.outbox import OutboxMessage, add_to_outbox
from shared.storage import LOCKED, storage_fault


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.create_tables([OutboxMessage])
    yield database
    await database.dispose()


def comment(n: int):
    return new_event("test", TicketCommented(ticket_id=f"T-{n}", tier=1, author="al", body=f"note {n}"))


def fine(e):
    async def work(session):
        add_to_outbox(session, "tickets.events", e)
        return e.id

    return work


async def stored(db: Database) -> list[str]:
    async with db.read() as session:
        return list((await session.exec(select(OutboxMessage.event_id).order_by(OutboxMessage.id))).all())


async def test_concurrent_works_are_committed_together_and_each_caller_waits_for_its_commit(db):
    commits = 0

    def count(*_):
        nonlocal commits
        commits += 1

    event.listen(db.engine.sync_engine, "commit", count)
    events = [comment(n) for n in range(40)]

    async def submit(e):
        async def work(session):
            add_to_outbox(session, "tickets.events", e)
            return e.id

        returned = await db.batched(work)
        assert e.id in await stored(db)  # committed before the caller hears back
        return returned

    assert await asyncio.gather(*(submit(e) for e in events)) == [e.id for e in events]
    assert sorted(await stored(db)) == sorted(e.id for e in events)
    assert commits < len(events)


async def test_a_work_that_raises_is_undone_alone_and_its_error_reaches_only_its_caller(db):
    first, bad, last = comment(1), comment(2), comment(3)

    async def broken(session):
        add_to_outbox(session, "tickets.events", bad)  # staged, then the work fails
        session.add(OutboxMessage(event_id="half-done", topic="t", key=b"k", headers=[], value=b"v"))
        await session.flush()
        raise ValueError("refused")

    results = await asyncio.gather(
        db.batched(fine(first)), db.batched(broken), db.batched(fine(last)), return_exceptions=True
    )
    assert (results[0], results[2]) == (first.id, last.id)
    assert isinstance(results[1], ValueError)
    assert await stored(db) == [first.id, last.id]  # neither the flushed row nor the staged event of the broken one


async def test_a_work_the_commit_refuses_fails_alone(db):
    first, last = comment(1), comment(2)
    await db.batched(fine(comment(0)))
    async with db.read() as session:
        taken = (await session.exec(select(OutboxMessage.id))).first()

    async def duplicate(session):
        # Its row's key is taken: only the commit's flush finds out, for the whole group.
        session.add(OutboxMessage(id=taken, event_id="dup", topic="t", key=b"k", headers=[], value=b"v"))
        return "dup"

    results = await asyncio.gather(
        db.batched(fine(first)), db.batched(duplicate), db.batched(fine(last)), return_exceptions=True
    )
    assert (results[0], results[2]) == (first.id, last.id)
    assert isinstance(results[1], IntegrityError)
    assert (await stored(db))[1:] == [first.id, last.id]


async def test_each_work_runs_in_its_callers_context(db):
    async def traced(n: int):
        with tracing.scope(name=f"request {n}") as ids:
            async def work(session):
                return tracing.fields()["trace_id"]

            return ids["trace_id"], await db.batched(work)

    pairs = await asyncio.gather(*(traced(n) for n in range(10)))
    assert all(mine == seen for mine, seen in pairs)
    assert len({mine for mine, _ in pairs}) == 10


async def test_a_lock_held_by_another_process_fails_the_group_and_everything_queued_behind_it_at_once(tmp_path):
    path = tmp_path / "locked.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.create_tables([OutboxMessage])
    begins = 0

    def count(_conn, _cursor, statement, *_):
        nonlocal begins
        begins += statement == "BEGIN IMMEDIATE"

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer, say
    wait = sqlite_inline.LOCK_WAIT_S.set(0.2)
    try:
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        many = [comment(n) for n in range(150)]  # more than one group (64)

        def stage(e):
            async def work(session):
                add_to_outbox(session, "tickets.events", e)

            return work

        results = await asyncio.gather(*(db.batched(stage(e)) for e in many), return_exceptions=True)
        assert all(storage_fault(r) is LOCKED for r in results), {type(r).__name__ for r in results}
        assert begins == 1  # one wait for the lock, not one per group
        holder.execute("ROLLBACK")
        assert await db.batched(stage(comment(999))) is None  # the lock gone, writes go through
    finally:
        sqlite_inline.LOCK_WAIT_S.reset(wait)
        holder.close()
        await db.dispose()
