"""The deliveries ledger over HTTP: webhook calls and e-mails as they went, and the replay of a dead one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from shared.auth import Principal
from shared.db import INT64_MAX, MAX_OFFSET

from services.notifier.dispatch import ledger
from services.notifier.dispatch.schemas import DeliveryPage, DeliveryView
from services.notifier.domain import Channel, DeliveryStatus
from services.notifier.permissions import PERMISSIONS, scope_of

router = APIRouter(tags=["notifications"])

Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@router.get("/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    request: Request,
    principal: Annotated[Principal, PERMISSIONS.require("read deliveries")],
    ticket_id: Annotated[str | None, Query(max_length=100)] = None,
    status: DeliveryStatus | None = None,
    channel: Channel | None = None,
    subscription_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
):
    """Deliveries (webhook calls and e-mails), newest first; `status=dead` is the dead-letter list."""
    rows, total = await ledger.list_deliveries(
        request.app.state.db, ticket_id=ticket_id, status=status, channel=channel,
        subscription_id=subscription_id, limit=limit, offset=offset, scope=scope_of(principal),
    )
    items = [DeliveryView.model_validate(r, from_attributes=True) for r in rows]
    return DeliveryPage(items=items, total=total, limit=limit, offset=offset)


@router.post("/deliveries/{delivery_id}/retry", status_code=202, response_model=DeliveryView)
async def retry_delivery(
    delivery_id: Annotated[int, Path(ge=1, le=INT64_MAX)],
    request: Request,
    principal: Annotated[Principal, PERMISSIONS.require("replay deliveries")],
):
    """Replay a dead delivery: back in its lane, due now, attempts counted afresh."""
    delivery = await ledger.retry(request.app.state.db, delivery_id=delivery_id, scope=scope_of(principal))
    return DeliveryView.model_validate(delivery, from_attributes=True)
