"""Subscriptions over HTTP: subscribe a URL to an organization's events, list them, unsubscribe."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from shared.auth import Principal
from shared.errors import NotFound

from services.notifier.permissions import PERMISSIONS, check_subscriber, scope_of
from services.notifier.subscriptions import handlers
from services.notifier.subscriptions.schemas import SubscriptionCreate, SubscriptionCreated, SubscriptionView

router = APIRouter(tags=["notifications"])

Subscriber = Annotated[Principal, PERMISSIONS.require("manage subscriptions")]


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated, tags=["subscriptions"])
async def create_subscription(body: SubscriptionCreate, request: Request, response: Response, principal: Subscriber):
    """Subscribe a public URL to an organization's requester-visible events; calls are signed with `secret`."""
    check_subscriber(principal, body.organization)
    created = await handlers.create(
        request.app.state.db,
        url=str(body.url),
        organization=body.organization,
        events=body.events,
        secret=body.secret,
        description=body.description,
        policy=request.app.state.target_policy,
    )
    response.headers["Location"] = f"/subscriptions/{created.id}"
    return SubscriptionCreated.model_validate(created, from_attributes=True)


@router.get("/subscriptions", response_model=list[SubscriptionView], tags=["subscriptions"])
async def list_subscriptions(
    request: Request, principal: Subscriber, organization: Annotated[str | None, Query(max_length=100)] = None
):
    """The subscriptions the caller may see, of one organization or all; secrets are not shown."""
    scope = scope_of(principal).narrowed_to(organization)
    rows = await handlers.list_for(request.app.state.db, organizations=scope.organizations)
    return [SubscriptionView.model_validate(r, from_attributes=True) for r in rows]


@router.delete("/subscriptions/{subscription_id}", status_code=204, tags=["subscriptions"])
async def delete_subscription(subscription_id: str, request: Request, principal: Subscriber) -> Response:
    """Stop a subscription; its pending deliveries are cancelled."""
    organizations = scope_of(principal).organizations
    if not await handlers.delete(request.app.state.db, subscription_id=subscription_id, organizations=organizations):
        raise NotFound(f"subscription {subscription_id} not found")
    return Response(status_code=204)
