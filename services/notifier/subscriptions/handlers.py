"""Webhook subscriptions per organization: created, listed, deleted."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection

from sqlalchemy import bindparam, update
from sqlmodel import col, select

from shared.db import Database, execute

from services.notifier.channels.webhook.targets import TargetPolicy, check_target
from services.notifier.dispatch.models import Delivery
from services.notifier.domain import DeliveryStatus
from services.notifier.subscriptions.domain import REQUESTER_VISIBLE_TYPES, UnknownEventTypes, unknown_types
from services.notifier.subscriptions.models import Subscription

SECRET_BYTES = 32


async def create(
    db: Database,
    *,
    url: str,
    organization: str,
    events: list[str],
    secret: str | None,
    description: str | None,
    policy: TargetPolicy,
) -> Subscription:
    """Check the target and the types, then store the subscription (a secret is made if none is given)."""
    if unknown := unknown_types(events):
        raise UnknownEventTypes(
            f"unknown or agent-only event types: {', '.join(unknown)}; "
            f"allowed: {', '.join(REQUESTER_VISIBLE_TYPES)}"
        )
    await check_target(url, policy)
    subscription = Subscription(
        id=str(uuid.uuid4()),
        organization=organization,
        url=url,
        events=list(dict.fromkeys(events)),
        secret=secret or secrets.token_urlsafe(SECRET_BYTES),
        description=description,
    )
    async with db.unit_of_work() as session:
        session.add(subscription)
    return subscription


async def list_for(db: Database, *, organizations: Collection[str] | None) -> list[Subscription]:
    """The subscriptions, oldest first, of these organizations (None: of all)."""
    query = select(Subscription).order_by(col(Subscription.created_at), col(Subscription.id))
    if organizations is not None:
        query = query.where(col(Subscription.organization).in_(organizations))
    async with db.read() as session:
        return list((await session.exec(query)).all())


async def delete(db: Database, *, subscription_id: str, organizations: Collection[str] | None = None) -> bool:
    """Remove a subscription and cancel its pending deliveries; False if it did not exist (in these organizations)."""
    async with db.unit_of_work() as session:
        subscription = await session.get(Subscription, subscription_id)
        if subscription is None or organizations is not None and subscription.organization not in organizations:
            return False
        await session.delete(subscription)
        await session.exec(
            update(Delivery)
            .where(Delivery.subscription_id == subscription_id, Delivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.CANCELLED, last_error="subscription deleted")
        )
    return True


# Read before every call to a subscription (a deletion stops its calls at once): built once, run
# through Core (the ORM's session.get was the dispatcher's largest cost per call).
_SECRET_OF = select(Subscription.secret).where(Subscription.id == bindparam("subscription_id"))


async def secret_of(db: Database, *, subscription_id: str) -> str | None:
    """The signing secret of a subscription; None once it is deleted."""
    async with db.read() as session:
        return (await execute(session, _SECRET_OF, {"subscription_id": subscription_id})).scalar()
