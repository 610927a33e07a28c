"""The deliveries ledger: what the dispatcher sends next, what came of it, and replays."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select

from shared.db import Database, utcnow
from shared.errors import Conflict, NotFound

from services.notifier.domain import DeliveryStatus, FailureOutcome
from services.notifier.handlers import NEW_DELIVERIES
from services.notifier.models import Delivery, NotifierTicket
from services.notifier.permissions import Scope

EVERYTHING = Scope(None, internal=True)
# Deliveries only staff may see: alerts e-mailed to an organization's escalation contact.
INTERNAL_TARGETS = ("email:alert",)

_MAX_ERROR_CHARS = 1000


class NotReplayable(Conflict):
    """Only a dead delivery can be replayed."""


@dataclass(frozen=True, slots=True)
class DueLane:
    lane: str
    endpoint: str


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


def _lane_heads():
    """Each lane's oldest pending delivery: only it may go; a later one never jumps the queue."""
    first = (
        select(Delivery.lane, func.min(Delivery.id).label("first_id"))
        .where(Delivery.status == DeliveryStatus.PENDING)
        .group_by(Delivery.lane)
        .subquery()
    )
    return select(Delivery).join(first, col(Delivery.id) == first.c.first_id)


async def due_lanes(
    db: Database, *, now: datetime, exclude_lanes: Collection[str], exclude_endpoints: Collection[str], limit: int
) -> list[DueLane]:
    """Lanes whose head delivery is due, oldest first, leaving out busy lanes and saturated endpoints."""
    query = (
        _lane_heads()
        .where(
            col(Delivery.next_attempt_at) <= now,
            col(Delivery.lane).not_in(exclude_lanes),
            col(Delivery.endpoint).not_in(exclude_endpoints),
        )
        .order_by(col(Delivery.id))
        .limit(limit)
    )
    async with db.read() as session:
        return [DueLane(d.lane, d.endpoint) for d in (await session.exec(query)).all()]


async def next_wake_up(db: Database, *, now: datetime) -> datetime | None:
    """When the earliest lane head waiting on a backoff falls due; None if none waits."""
    heads = _lane_heads().where(col(Delivery.next_attempt_at) > now).subquery()
    async with db.read() as session:
        return (await session.exec(select(func.min(heads.c.next_attempt_at)))).one()


async def next_pending(db: Database, *, lane: str) -> Delivery | None:
    """The lane's oldest pending delivery, due or not."""
    query = (
        select(Delivery)
        .where(Delivery.lane == lane, Delivery.status == DeliveryStatus.PENDING)
        .order_by(col(Delivery.id))
        .limit(1)
    )
    async with db.read() as session:
        return (await session.exec(query)).first()


async def mark_delivered(db: Database, *, delivery_id: int) -> None:
    """Record that the receiver took it."""
    await _update_pending(db, delivery_id, status=DeliveryStatus.DELIVERED, delivered_at=utcnow())


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
