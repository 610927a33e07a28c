"""The deliveries ledger: what the dispatcher sends next, what came of it, and replays."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlmodel import col, select

from shared.db import Database, execute, utcnow
from shared.errors import Conflict, NotFound

from services.notifier.domain import DeliveryStatus, FailureOutcome
from services.notifier.handlers import NEW_DELIVERIES
from services.notifier.lanes import LaneBook
from services.notifier.models import Delivery, NotifierTicket
from services.notifier.permissions import Scope

EVERYTHING = Scope(None, internal=True)
# Deliveries only staff may see: alerts e-mailed to an organization's escalation contact.
INTERNAL_TARGETS = ("email:alert",)

_MAX_ERROR_CHARS = 1000


class NotReplayable(Conflict):
    """Only a dead delivery can be replayed."""


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


async def pending_after(db: Database, after_id: int, *, limit: int) -> list[Delivery]:
    """Pending deliveries with an id above `after_id`, oldest first: what was committed since."""
    query = (
        select(Delivery)
        .where(col(Delivery.id) > after_id, Delivery.status == DeliveryStatus.PENDING)
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    async with db.read() as session:
        return list((await session.exec(query)).all())


async def pending_not_in(db: Database, book: LaneBook) -> list[Delivery]:
    """Every pending delivery the book does not hold (a replay, a row committed out of id order)."""
    async with db.read() as session:
        ids = (await session.exec(select(Delivery.id).where(Delivery.status == DeliveryStatus.PENDING))).all()
        missing = [i for i in ids if not book.knows(i)]
        rows: list[Delivery] = []
        for chunk in range(0, len(missing), 500):
            query = select(Delivery).where(col(Delivery.id).in_(missing[chunk : chunk + 500]))
            rows.extend((await session.exec(query)).all())
    return rows


async def mark_delivered(db: Database, *, delivery_ids: list[int]) -> None:
    """Record that the receivers took them, in one transaction."""
    now = utcnow()
    async with db.unit_of_work() as session:
        for chunk in range(0, len(delivery_ids), 500):
            # Only a pending row changes: a delivery cancelled meanwhile stays cancelled.
            await execute(
                session,
                update(Delivery)
                .where(col(Delivery.id).in_(delivery_ids[chunk : chunk + 500]), Delivery.status == DeliveryStatus.PENDING)
                .values(status=DeliveryStatus.DELIVERED, delivered_at=now)
            )


async def mark_failed(db: Database, *, delivery_id: int, error: str, outcome: FailureOutcome) -> None:
    """Record a failed attempt: retried at `outcome.next_attempt_at`, or dead."""
    await _update_pending(
        db,
        delivery_id,
        status=outcome.status,
        attempts=outcome.attempts,
        next_attempt_at=outcome.next_attempt_at,
        last_error=error[:_MAX_ERROR_CHARS],
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
        session.info[NEW_DELIVERIES] = True
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


async def _update_pending(db: Database, delivery_id: int, **values) -> None:
    # Only a pending row changes: a delivery cancelled meanwhile stays cancelled.
    async with db.unit_of_work() as session:
        await session.exec(
            update(Delivery)
            .where(col(Delivery.id) == delivery_id, Delivery.status == DeliveryStatus.PENDING)
            .values(**values)
        )
