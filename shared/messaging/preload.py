"""Rows a whole batch of events will need, read in one query before its handlers run.

A consumer's handler looks up the row its event is about (the ticket, by the event's subject).
One `session.get` per event is one SELECT per event, and, before each, a flush of what the
previous events changed. Instead the consumer loop calls `preload` once per batch for the
service's models: every row keyed by one of the batch's subjects is read by one query (in
chunks), and `get` answers from it, found or not, without a statement.

Kept correct within the batch: a row added to the session after the preload (a new ticket) is
no longer answered "absent" (`get` asks the session again), and one deleted and flushed is not
answered at all. The batch's transaction covers the preload, as it would each lookup.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

M = TypeVar("M", bound=SQLModel)

_ROWS = "preloaded_rows"  # session.info: model -> {key: row}; holds the rows (the identity map is weak)
_LOOKED_FOR = "preloaded_keys"  # session.info: model -> keys the preload answers for, found or not
_CHUNK = 500  # keys per IN (...): well under SQLite's bound-parameter limit


def _key_column(model: type[SQLModel]) -> Any:
    (column,) = model.__table__.primary_key.columns  # single-column keys only
    return column


async def preload(session: AsyncSession, models: Iterable[type[SQLModel]], keys: Collection[str]) -> None:
    """Read every row of each model whose primary key is in `keys`, for `get` to answer from."""
    rows_of = session.info.setdefault(_ROWS, {})
    looked_for = session.info.setdefault(_LOOKED_FOR, {})
    unique = list(dict.fromkeys(keys))
    for model in models:
        column = _key_column(model)
        rows = rows_of.setdefault(model, {})
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            # Locked until commit where the database can, in key order (SQLite's writer already
            # serialises): an API call changing the same row meanwhile waits rather than is lost.
            query = select(model).where(col(column).in_(chunk)).order_by(col(column)).with_for_update()
            for row in (await session.exec(query)).all():
                rows[getattr(row, column.key)] = row
        looked_for.setdefault(model, set()).update(unique)


async def get(session: AsyncSession, model: type[M], key: str) -> M | None:
    """`session.get(model, key)`, without a statement when the batch's preload answered for `key`."""
    looked_for = session.info.get(_LOOKED_FOR, {}).get(model)
    if looked_for is not None and key in looked_for:
        row = session.info[_ROWS][model].get(key)
        if row is None or not inspect(row).was_deleted:
            return row
    return await session.get(model, key)


@event.listens_for(Session, "transient_to_pending")
def _added(session: Session, instance: object) -> None:
    # A row added after the preload: `get` must find it through the session, not say "absent".
    looked_for = session.info.get(_LOOKED_FOR)
    if looked_for and (keys := looked_for.get(type(instance))):
        keys.discard(getattr(instance, _key_column(type(instance)).key, None))
