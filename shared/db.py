"""The database layer: one async engine per service, units of work, commit hooks.

SQLite (a file per service) by default, any SQLAlchemy async URL by setting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import DateTime, Executable, Result, Table, TypeDecorator, event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import sqlite_inline
from shared.group_commit import GroupWriter

T = TypeVar("T")

# The largest integer SQLite and PostgreSQL bind (OFFSET, BIGINT ids): a larger one failed in the
# driver (a 500); APIs bound their integers with it (past it, 422 naming the parameter).
INT64_MAX = 2**63 - 1
MAX_OFFSET = INT64_MAX


def _json_dumps(value) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns (snapshots, outbox headers) through orjson: the stdlib encoder showed in profiles.
_JSON = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


# How long a statement waits for a lock held by another process (another replica, an operator's
# shell) before it fails with "database is locked": well inside a client's timeout, so a request
# gets its 503 rather than a timeout, and no one holds the writer connection for long meanwhile.
# (Consumers wait less and retry; migrations wait longer, see shared.migrations.)
_BUSY_TIMEOUT_S = 5.0


def _sqlite_engine(url: str, *, writer: bool) -> AsyncEngine:
    """The writer: one connection, BEGIN IMMEDIATE. A reader: a pool, deferred BEGIN, read-only."""
    parsed = make_url(url)
    in_memory = not parsed.database or parsed.database == ":memory:"
    if not in_memory:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # One writer connection: SQLite takes one writer at a time anyway, and pooled connections
    # racing for BEGIN IMMEDIATE sleep in SQLite's busy handler (up to 100 ms a try) or fail
    # with "database is locked". Our writers queue for this connection instead, in arrival
    # order (the async pool's queue), from their first statement to their commit, so a unit
    # of work's Python work before it touches the database overlaps the writer's round trips.
    pool = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 300} if writer and not in_memory else {}
    # Sessions end their own transactions: the pool's ROLLBACK on every return is one more
    # round trip per unit of work, for nothing.
    if in_memory:
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None, **_JSON, **pool)
    else:
        # A file's statements run on the loop's thread (see shared.sqlite_inline); a lock held by
        # another process is waited for up to the busy timeout, without blocking the loop.
        path = str(Path(parsed.database).resolve())
        engine = create_async_engine(
            url,
            async_creator=lambda: sqlite_inline.connect(path, busy_timeout_s=_BUSY_TIMEOUT_S),
            pool_reset_on_return=None,
            **_JSON,
            **pool,
        )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let us emit BEGIN ourselves (pysqlite's own handling defers it), and use WAL
        # so readers never wait for the writer.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout first: switching a new file to WAL takes a lock another process may hold.
        # A file's connection waits in shared.sqlite_inline instead (SQLite's wait would block the loop).
        cursor.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000) if in_memory else 0}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not writer:
            cursor.execute("PRAGMA query_only=ON")  # a write through db.read() fails loudly
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:
        # IMMEDIATE takes the write lock up front: a deferred transaction that later writes
        # can fail at once with SQLITE_BUSY instead of waiting its turn. Readers take a
        # deferred snapshot and never touch the lock (WAL).
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


class Database:
    """An engine, its sessions, and hooks run after each commit (the outbox relay's wake-up).

    On SQLite, writes go through one connection, one unit of work at a time in this process,
    in arrival order; reads go through a pool of read-only connections that never wait for
    the writer. PostgreSQL uses one pooled engine for both.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            self.engine = _sqlite_engine(url, writer=True)
            in_memory = not parsed.database or parsed.database == ":memory:"
            # An in-memory database exists once per connection: it cannot have readers of its own.
            self._reader = self.engine if in_memory else _sqlite_engine(url, writer=False)
        else:
            self.engine = create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, **_JSON)
            self._reader = self.engine
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self._reader, class_=AsyncSession, expire_on_commit=False)
        self._after_commit: list[Callable[[AsyncSession], None]] = []
        self._group_writer = GroupWriter(self)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def on_commit(self, hook: Callable[[AsyncSession], None]) -> None:
        """Call `hook(session)` after every unit of work that commits."""
        self._after_commit.append(hook)

    async def create_tables(self, models: Iterable[type[SQLModel]]) -> None:
        """Create this service's tables where they do not exist yet."""
        tables = [model.__table__ for model in models]
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, tables=tables))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        async with self._sessions() as session:
            async with session.begin():
                yield session
        for hook in self._after_commit:
            hook(session)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A Core transaction on the writer, committed when the block ends: no ORM session and
        no commit hooks, for the hot paths' bulk statements (a ledger's marks)."""
        async with self.engine.begin() as connection:
            yield connection

    async def batched(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work(session)` in a transaction shared with other callers' work, and return once
        it is committed: group commit. A work that raises does so to its caller alone: the
        group's transaction is rolled back and the others run again without it (so a work may
        run more than once, and must do nothing outside its session). While one group is being
        written, the next gathers: one commit for many requests under load, no wait at all
        when idle."""
        return await self._group_writer.submit(work)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries only (on SQLite a read-only snapshot that never waits for writers)."""
        async with self._read_sessions() as session:
            yield session

    async def ping(self) -> bool:
        """Whether the database answers."""
        try:
            async with asyncio.timeout(2):
                async with self._reader.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._reader is not self.engine:
            await self._reader.dispose()


async def execute(session: AsyncSession, statement: Executable, params: Any = None) -> Result:
    """Run a Core statement on the session's connection, in its transaction, outside the ORM's
    execute path: half the cost a statement (0.20 vs 0.38 ms measured here), which counted on
    the consumers' hot paths. No autoflush: for statements that need no pending ORM change
    written first, and that return rows, not ORM objects."""
    return await (await session.connection()).execute(statement, params)


_STAGED_ROWS = "staged_rows"


def stage_insert(session: AsyncSession, table: Table, row: dict) -> None:
    """Insert `row` into `table` when the session commits: one multi-row INSERT per table, in the
    order staged, instead of an ORM object each (their construction and flush showed in profiles).
    Rows staged this way are not seen by queries in the same transaction."""
    session.info.setdefault(_STAGED_ROWS, {}).setdefault(table, []).append(row)


_STAGED_RETURNING = "staged_rows_returning"


def stage_insert_returning(session: AsyncSession, table: Table, row: dict, *, unique: tuple[str, ...]) -> None:
    """`stage_insert`, and at commit `row` is given the primary key the database assigned it
    (`row["id"] = ...`): one multi-row INSERT ... RETURNING per table, the rows told apart by the
    `unique` columns, not by the order returned (neither SQLite nor PostgreSQL promises one)."""
    session.info.setdefault(_STAGED_RETURNING, {}).setdefault((table, unique), []).append(row)


@event.listens_for(Session, "before_commit")
def _insert_staged_rows(session: Session) -> None:
    # Inside the async session's greenlet: plain calls are fine. Core on the connection (see
    # execute()), after the ORM's own changes.
    if staged := session.info.pop(_STAGED_ROWS, None):
        session.flush()
        connection = session.connection()
        for table, rows in staged.items():
            connection.execute(insert(table), rows)
    if staged := session.info.pop(_STAGED_RETURNING, None):
        session.flush()
        connection = session.connection()
        for (table, unique), rows in staged.items():
            _insert_returning(connection, table, unique, rows)


def _insert_returning(connection, table: Table, unique: tuple[str, ...], rows: list[dict]) -> None:
    (key,) = table.primary_key.columns  # single-column keys only
    statement = insert(table).returning(key, *(table.c[name] for name in unique))
    by_unique = {tuple(row[name] for name in unique): row for row in rows}
    for assigned, *values in connection.execute(statement, rows):
        by_unique[tuple(values)][key.key] = assigned


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
