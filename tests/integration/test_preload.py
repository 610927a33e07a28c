"""A batch's rows read at once (shared.messaging.preload) on real databases: answers as
`session.get` would, without a statement, and stays right when the batch adds or deletes rows."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Field, SQLModel

from shared.db import Database
from shared.messaging import preload


class PreloadRow(SQLModel, table=True):
    __tablename__ = "test_preload_rows"

    id: str = Field(primary_key=True)
    value: int = 0


@pytest.fixture
async def db(database_url):
    database = Database(database_url)
    await database.create_tables([PreloadRow])
    async with database.unit_of_work() as session:
        for n in range(3):
            session.add(PreloadRow(id=f"r{n}", value=n))
    yield database
    await database.dispose()


@pytest.fixture
def selects(db):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def test_found_and_absent_rows_are_answered_without_a_statement(db, selects):
    async with db.unit_of_work() as session:
        await preload.preload(session, [PreloadRow], ["r0", "r2", "missing", "r0"])
        assert len(selects) == 1  # one query for the whole batch
        row = await preload.get(session, PreloadRow, "r2")
        assert row is not None and row.value == 2
        assert await preload.get(session, PreloadRow, "missing") is None
        assert len(selects) == 1
        row.value = 20  # a preloaded row is the session's own: changes are flushed at commit
        assert await preload.get(session, PreloadRow, "r1") is not None  # not preloaded: asked for
        assert len(selects) == 2
    async with db.read() as session:
        assert (await session.get(PreloadRow, "r2")).value == 20


async def test_a_row_added_after_the_preload_is_found(db):
    async with db.unit_of_work() as session:
        await preload.preload(session, [PreloadRow], ["new"])
        session.add(PreloadRow(id="new", value=7))
        row = await preload.get(session, PreloadRow, "new")
        assert row is not None and row.value == 7


async def test_a_row_deleted_after_the_preload_is_gone(db):
    async with db.unit_of_work() as session:
        await preload.preload(session, [PreloadRow], ["r1"])
        await session.delete(await preload.get(session, PreloadRow, "r1"))
        await session.flush()
        assert await preload.get(session, PreloadRow, "r1") is None


async def test_without_a_preload_get_is_session_get(db):
    async with db.read() as session:
        assert (await preload.get(session, PreloadRow, "r0")).value == 0
        assert await preload.get(session, PreloadRow, "missing") is None


async def test_more_keys_than_one_query_binds(db, selects):
    keys = [f"k{n}" for n in range(1200)] + ["r1"]
    async with db.unit_of_work() as session:
        await preload.preload(session, [PreloadRow], keys)
        assert len(selects) == 3  # in chunks of 500
        assert (await preload.get(session, PreloadRow, "r1")).value == 1
        assert await preload.get(session, PreloadRow, "k999") is None
