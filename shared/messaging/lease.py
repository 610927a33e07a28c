"""A lease in the service's own database: one replica at a time runs a singleton loop.

Replicas of a service share its database. Each runs an outbox relay, but only the
holder of the relay's lease publishes, so two replicas never send every row twice.
A holder renews well before expiry; a replica that dies is replaced when its lease
expires; one that stops cleanly hands it over at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col

from shared.db import Database, UTCDateTime, utcnow

log = logging.getLogger(__name__)

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
        self._renewal: asyncio.Task | None = None

    async def _ensure_row(self) -> None:
        # The table is the migrations' (shared/migrations.py), like every other.
        try:
            async with self._db.unit_of_work() as session:
                if await session.get(Lease, self._name) is None:
                    session.add(Lease(name=self._name, holder="", expires_at=_EPOCH))
        except IntegrityError:
            pass  # another replica inserted it first
        self._ready = True

    async def keep(self) -> bool:
        """True while this holder has the lease; takes it when due, renews it in the background."""
        now = time.monotonic()
        if now < self._held_until - self._ttl_s / 3:
            return True
        if now < self._held_until - 1.0:
            # Still ours for a while: renew without making the caller wait its turn to write.
            if self._renewal is None or self._renewal.done():
                self._renewal = asyncio.create_task(self._take())
            return True
        if not self._held_until and now < self._next_try:
            return False
        return await self._take()

    async def _take(self) -> bool:
        started = time.monotonic()
        self._next_try = started + self._ttl_s / 3
        try:
            if not self._ready:
                await self._ensure_row()
            wall = utcnow()
            async with self._db.unit_of_work() as session:
                result = await session.exec(
                    update(Lease)
                    .where(
                        col(Lease.name) == self._name,
                        or_(col(Lease.holder) == self.holder, col(Lease.expires_at) < wall),
                    )
                    .values(holder=self.holder, expires_at=wall + timedelta(seconds=self._ttl_s))
                )
        except Exception:
            log.warning("could not take or renew the %s lease", self._name, exc_info=True)
            return started < self._held_until
        self._held_until = started + self._ttl_s if result.rowcount else 0.0
        return bool(result.rowcount)

    async def release(self) -> None:
        """Give the lease up now (a clean stop), so another replica takes over at once."""
        if self._renewal is not None:
            self._renewal.cancel()
        if not self._held_until:
            return
        self._held_until = 0.0
        async with self._db.unit_of_work() as session:
            await session.exec(
                update(Lease)
                .where(col(Lease.name) == self._name, col(Lease.holder) == self.holder)
                .values(expires_at=_EPOCH)
            )
