"""The integrations' HTTP routes: admins manage them, monitoring systems send events; thin, over the handlers."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request

from shared.auth import Principal
from shared.db import Database

from services.intake.integrations import handlers
from services.intake.integrations.models import Integration
from services.intake.integrations.schemas import (
    AlertmanagerNotification,
    AlertReceived,
    Contact,
    EventAccepted,
    EventBody,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationPage,
    IntegrationPublic,
    NotificationAccepted,
)
from services.intake.permissions import PERMISSIONS, SendingIntegration

router = APIRouter(tags=["integrations"])

Admin = Annotated[Principal, PERMISSIONS.require("manage integrations")]


@router.post("/integrations", status_code=201, response_model=IntegrationCreated)
async def create_integration(body: IntegrationCreate, request: Request, principal: Admin):
    """Create an integration of your organization; its API key is in this answer only."""
    integration, key = await handlers.create_integration(_db(request), body=body, principal=principal)
    return IntegrationCreated(**_public(integration).model_dump(), api_key=key)


@router.get("/integrations", response_model=IntegrationPage)
async def list_integrations(request: Request, principal: Admin):
    """Your organization's integrations (every one for ops), revoked ones included; never their keys."""
    rows = await handlers.list_integrations(_db(request), principal=principal)
    return IntegrationPage(items=[_public(r) for r in rows])


@router.delete("/integrations/{integration_id}", response_model=IntegrationPublic)
async def revoke_integration(integration_id: str, request: Request, principal: Admin):
    """Revoke an integration's key at once (409 if it already is); its tickets stay."""
    integration = await handlers.revoke_integration(_db(request), integration_id=integration_id, principal=principal)
    return _public(integration)


@router.post("/events", status_code=202, response_model=EventAccepted)
async def post_event(body: EventBody, request: Request, principal: SendingIntegration):
    """An alert's trigger, acknowledge or resolve: one ticket per open dedup_key, repeats counted on it."""
    window = timedelta(seconds=request.app.state.settings.reopen_window_s)
    received = await handlers.receive_event(_db(request), integration_id=principal.sub, body=body, window=window)
    return EventAccepted(
        ticket_id=received.ticket_id, dedup_key=body.dedup_key, outcome=received.outcome,
        occurrences=received.occurrences, links={"ticket": f"/tickets/{received.ticket_id}"},
    )


@router.post("/integrations/alertmanager", status_code=202, response_model=NotificationAccepted)
async def post_alertmanager(body: AlertmanagerNotification, request: Request, principal: SendingIntegration):
    """Alertmanager's webhook (version 4): each alert an event (its fingerprint the dedup_key), or the whole
    notification one event of its group, as the integration says (`alertmanager.dedup`)."""
    window = timedelta(seconds=request.app.state.settings.reopen_window_s)
    received = await handlers.receive_notification(
        _db(request), integration_id=principal.sub, notification=body, window=window
    )
    return NotificationAccepted(alerts=[
        AlertReceived(fingerprint=key, ticket_id=r.ticket_id, outcome=r.outcome, occurrences=r.occurrences)
        if r else AlertReceived(fingerprint=key, ticket_id=None, outcome="unknown", occurrences=0)
        for key, r in received
    ])


def _public(row: Integration) -> IntegrationPublic:
    contact = Contact(email=row.contact_email, name=row.contact_name, language=row.language)
    return IntegrationPublic(**row.model_dump(exclude={"key_hash", "contact_email", "contact_name", "language"}),
                             contact=contact)


def _db(request: Request) -> Database:
    return request.app.state.db
