"""A lease in the service's own database: one replica at a time runs a singleton loop.

Replicas of a service share its database. Each runs an outbox relay, but only the
holder of the relay's lease publishes, so two replicas never send every row twice.
A holder renews well before expiry; a replica that dies is replaced when its lease
expires; one that stops cleanly hands it over at once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col

from shared.db import Database, UTCDateTime, utcnow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Lease(SQLModel, table=True):
    __tablename__ = "leases"

    name: str = Field(primary_key=True)
    holder: str
    expires_at: datetime = Field(sa_type=UTCDateTime)


class LeaseKeeper:
    """Takes, renews and releases one named lease for one holder."""

    def __init__(self, db: Database, *, name: str, holder: str, ttl_s: float = 10.0) -> None:
        self._db = db
        self._name = name
        self.holder = holder
        self._ttl_s = ttl_s
        self._held_until = 0.0  # monotonic; renewed when a third of the term is left
        self._next_try = 0.0  # monotonic; a replica without the lease asks again a third of a term later
        self._ready = False

    async def _ensure_row(self) -> None:
        await self._db.create_tables([Lease])
        try:
            async with self._db.unit_of_work() as session:
                if await session.get(Lease, self._name) is None:
                    session.add(Lease(name=self._name, holder="", expires_at=_EPOCH))
        except IntegrityError:
            pass  # another replica inserted it first
        self._ready = True

    async def keep(self) -> bool:
        """True while this holder has the lease; takes or renews it when due."""
        now = time.monotonic()
        if now < self._held_until - self._ttl_s / 3:
            return True
        if not self._held_until and now < self._next_try:
            return False
        self._next_try = now + self._ttl_s / 3
        if not self._ready:
            await self._ensure_row()
        started, wall = now, utcnow()
        async with self._db.unit_of_work() as session:
            result = await session.exec(
                update(Lease)
                .where(
                    col(Lease.name) == self._name,
                    or_(col(Lease.holder) == self.holder, col(Lease.expires_at) < wall),
                )
                .values(holder=self.holder, expires_at=wall + timedelta(seconds=self._ttl_s))
            )
        self._held_until = started + self._ttl_s if result.rowcount else 0.0
        return bool(result.rowcount)

    async def release(self) -> None:
        """Give the lease up now (a clean stop), so another replica takes over at once."""
        if not self._held_until:
            return
        self._held_until = 0.0
        async with self._db.unit_of_work() as session:
            await session.exec(
                update(Lease)
                .where(col(Lease.name) == self._name, col(Lease.holder) == self.holder)
                .values(expires_at=_EPOCH)
            )
