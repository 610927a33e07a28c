"""The deliveries ledger: what the dispatcher sends next, what came of it, and replays."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database, execute, utcnow
from shared.errors import Conflict, NotFound

from services.notifier.dispatch.domain import FailureOutcome
from services.notifier.dispatch.lanes import LaneBook
from services.notifier.dispatch.models import Delivery
from services.notifier.domain import PENDING_FIELDS, DeliveryStatus, PendingDelivery
from services.notifier.models import NotifierTicket
from services.notifier.permissions import Scope

EVERYTHING = Scope(None, internal=True)
# Deliveries only staff may see: alerts e-mailed to an organization's escalation contact.
INTERNAL_TARGETS = ("email:alert",)

_MAX_ERROR_CHARS = 1000

# The deliveries a session staged (rows, given their ids at commit) or put back (retries):
# handed to the dispatcher once committed, so it never reads them back.
NEW_DELIVERIES = "notifier_new_deliveries"


class NotReplayable(Conflict):
    """Only a dead delivery can be replayed."""


def committed_deliveries(session: AsyncSession) -> list[PendingDelivery]:
    """The deliveries the session that just committed made pending (staged or put back); clears them."""
    return [PendingDelivery(**{f: row[f] for f in PENDING_FIELDS}) for row in session.info.pop(NEW_DELIVERIES, ())]


async def list_deliveries(
    db: Database,
    *,
    ticket_id: str | None,
    status: str | None,
    channel: str | None = None,
    subscription_id: str | None = None,
    limit: int,
    offset: int,
    scope: Scope = EVERYTHING,
) -> tuple[list[Delivery], int]:
    """A page of the deliveries in `scope`, newest first, and how many match in all."""
    filters = [*_within(scope)] + [
        column == value
        for column, value in (
            (Delivery.ticket_id, ticket_id),
            (Delivery.status, status),
            (Delivery.channel, channel),
            (Delivery.subscription_id, subscription_id),
        )
        if value is not None
    ]
    async with db.read() as session:
        total = (await session.exec(select(func.count()).select_from(Delivery).where(*filters))).one()
        query = select(Delivery).where(*filters).order_by(col(Delivery.id).desc()).limit(limit).offset(offset)
        rows = (await session.exec(query)).all()
    return list(rows), total


_TABLE = Delivery.__table__
_PENDING = select(*(_TABLE.c[f] for f in PENDING_FIELDS))
# Built once, run with a row of parameters per delivery (executemany): no statement per call.
_RECORD_FAILURE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("delivery_id"), _TABLE.c.status == DeliveryStatus.PENDING)
    .values(
        status=bindparam("new_status"),
        attempts=bindparam("new_attempts"),
        next_attempt_at=bindparam("new_next_attempt_at"),
        last_error=bindparam("new_last_error"),
    )
)


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    delivery_id: int
    error: str
    outcome: FailureOutcome


async def pending_not_in(db: Database, book: LaneBook) -> list[PendingDelivery]:
    """Every pending delivery the book does not hold: committed by another replica or before a
    crash, replayed, or missed."""
    async with db.read() as session:
        ids = (await execute(session, select(_TABLE.c.id).where(_TABLE.c.status == DeliveryStatus.PENDING))).scalars()
        missing = [i for i in ids if not book.knows(i)]
        rows: list[PendingDelivery] = []
        for chunk in range(0, len(missing), 500):
            query = _PENDING.where(_TABLE.c.id.in_(missing[chunk : chunk + 500]))
            rows.extend(PendingDelivery(*row) for row in await execute(session, query))
    return rows


async def record_outcomes(db: Database, *, delivered: list[int], failed: list[FailedAttempt]) -> None:
    """Record in one transaction which deliveries the receivers took and which attempts failed
    (each retried at its `outcome.next_attempt_at`, or dead); failures first, in the order made."""
    now = utcnow()
    async with db.transaction() as conn:
        if failed:
            params = [
                {
                    "delivery_id": f.delivery_id,
                    "new_status": f.outcome.status,
                    "new_attempts": f.outcome.attempts,
                    "new_next_attempt_at": f.outcome.next_attempt_at,
                    "new_last_error": f.error[:_MAX_ERROR_CHARS],
                }
                for f in failed
            ]
            await conn.execute(_RECORD_FAILURE, params)
        for chunk in range(0, len(delivered), 500):
            # Only a pending row changes: a delivery cancelled meanwhile stays cancelled.
            await conn.execute(
                update(_TABLE)
                .where(_TABLE.c.id.in_(delivered[chunk : chunk + 500]), _TABLE.c.status == DeliveryStatus.PENDING)
                .values(status=DeliveryStatus.DELIVERED, delivered_at=now)
            )


async def retry(db: Database, *, delivery_id: int, scope: Scope = EVERYTHING) -> Delivery:
    """Put a dead delivery back in its lane, due now, with its attempts counted afresh."""
    async with db.unit_of_work() as session:
        query = select(Delivery).where(col(Delivery.id) == delivery_id, *_within(scope))
        delivery = (await session.exec(query)).first()
        if delivery is None:
            raise NotFound(f"delivery {delivery_id} not found")
        if delivery.status != DeliveryStatus.DEAD:
            raise NotReplayable(f"delivery {delivery_id} is {delivery.status}; only a dead delivery can be retried")
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = utcnow()
        # Handed to the dispatcher once committed (see main.py): sent now, not at the next rescan.
        session.info.setdefault(NEW_DELIVERIES, []).append({f: getattr(delivery, f) for f in PENDING_FIELDS})
    return delivery


def _within(scope: Scope) -> list:
    """The conditions that keep a query to the deliveries a scope sees."""
    conditions = []
    if scope.organizations is not None:
        of_organizations = select(NotifierTicket.id).where(col(NotifierTicket.organization).in_(scope.organizations))
        conditions.append(col(Delivery.ticket_id).in_(of_organizations))
    if not scope.internal:
        conditions.append(col(Delivery.target).not_in(INTERNAL_TARGETS))
    return conditions
