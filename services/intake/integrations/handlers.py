"""The integrations' use cases: create, list and revoke them, know them by key, and take their events.

An event is one unit of work (group-committed like a submission): the alert's row and its
ticket's locked, the rule decided on intake's view (domain.decide), the ticket opened,
repeated, reopened or resolved, and the fact staged on the outbox, one commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal, Role
from shared.db import Database, stage_insert, utcnow
from shared.errors import Forbidden, NotFound
from shared.messages import new_event
from shared.messaging.outbox import add_to_outbox
from shared.topics import TICKETS_EVENTS

from services.intake.integrations import alertmanager, domain
from services.intake.integrations.domain import Outcome
from services.intake.integrations.models import Alert, Integration
from services.intake.integrations.schemas import AlertmanagerMapping, AlertmanagerNotification, EventBody, IntegrationCreate
from services.intake.models import TimelineEntry
from services.intake.requester import domain as requester_domain
from services.intake.requester.handlers import locked_ticket, stage
from services.intake.submission.handlers import SOURCE, stage_submission
from services.intake.timeline import timeline_row


async def create_integration(db: Database, *, body: IntegrationCreate, principal: Principal) -> tuple[Integration, str]:
    """A new integration of the caller's organization and its API key (returned here once, stored as a hash)."""
    if principal.role != Role.OPS and principal.org != body.organization:
        raise Forbidden(f"you may create integrations for organization {principal.org!r} only")
    key = domain.new_api_key()
    integration = Integration(
        id=str(uuid.uuid4()),
        organization=body.organization,
        name=body.name,
        kind=body.kind,
        contact_email=body.contact.email,
        contact_name=body.contact.name,
        language=body.contact.language,
        category_hint=body.category_hint,
        severity_map=domain.severity_map({k: v.model_dump() for k, v in body.severity_map.items()}),
        alertmanager=body.alertmanager.model_dump(),
        key_hash=domain.key_hash(key),
        key_hint=domain.key_hint(key),
        created_by=principal.sub,
    )
    async with db.unit_of_work() as session:
        session.add(integration)
    return integration, key


async def list_integrations(db: Database, *, principal: Principal) -> list[Integration]:
    """The integrations the caller may manage (an admin's organization's, all for ops), oldest first."""
    query = select(Integration).order_by(col(Integration.created_at), col(Integration.id))
    if principal.role != Role.OPS:
        query = query.where(Integration.organization == principal.org)
    async with db.read() as session:
        return list((await session.exec(query)).all())


async def revoke_integration(db: Database, *, integration_id: str, principal: Principal) -> Integration:
    """Revoke an integration's key at once; its tickets stay as they are."""
    async with db.unit_of_work() as session:
        integration = await session.get(Integration, integration_id, with_for_update=True)
        if integration is None or not principal.sees_organization(integration.organization):
            raise NotFound(f"integration {integration_id} not found")
        if integration.revoked_at is not None:
            raise domain.AlreadyRevoked(f"integration {integration_id} was already revoked")
        integration.revoked_at = utcnow()
    return integration


async def principal_for_key(db: Database, key: str) -> Principal | None:
    """The integration behind an API key, as a caller; None if the key is unknown or revoked."""
    query = select(Integration.id, Integration.organization).where(
        Integration.key_hash == domain.key_hash(key), col(Integration.revoked_at).is_(None)
    )
    async with db.read() as session:
        row = (await session.exec(query)).first()
    return None if row is None else Principal(sub=row[0], role=Role.INTEGRATION, org=row[1])


@dataclass(frozen=True, slots=True)
class Received:
    ticket_id: str
    outcome: Outcome
    occurrences: int


async def receive_event(db: Database, *, integration_id: str, body: EventBody, window: timedelta) -> Received:
    """Apply one event of an integration to the ticket its dedup_key holds (opening one if needed)."""
    try:
        return await db.batched(lambda session: _receive(session, integration_id, body, window))
    except IntegrityError:
        # The same new key raced us (another transaction, or earlier in the same group): its ticket is ours now.
        return await db.batched(lambda session: _receive(session, integration_id, body, window))


async def receive_notification(
    db: Database, *, integration_id: str, notification: AlertmanagerNotification, window: timedelta
) -> list[tuple[str, Received | None]]:
    """An Alertmanager notification, as its integration tells its alerts apart (alertmanager.events_of):
    each alert's fingerprint and what its event did; None for a resolve of an unknown key (an alert that
    fired before the integration existed: nothing to resolve, and no reason for a retry)."""
    async with db.read() as session:
        mapping = AlertmanagerMapping(**_source(await session.get(Integration, integration_id)).alertmanager)
    events = alertmanager.events_of(notification, mapping)
    outcomes = await _receive_each(db, integration_id=integration_id, events=events, window=window)
    if mapping.dedup == "group":  # one event for the group: every alert of it has the group's ticket
        return [(alert.fingerprint, outcomes[0]) for alert in notification.alerts]
    return [(event.dedup_key, outcome) for event, outcome in zip(events, outcomes)]


async def _receive_each(
    db: Database, *, integration_id: str, events: list[EventBody], window: timedelta
) -> list[Received | None]:
    received: list[Received | None] = []
    for body in events:
        try:
            received.append(await receive_event(db, integration_id=integration_id, body=body, window=window))
        except domain.UnknownAlert:
            received.append(None)
    return received


async def _receive(session: AsyncSession, integration_id: str, body: EventBody, window: timedelta) -> Received:
    source = _source(await session.get(Integration, integration_id))
    alert = await _locked_alert(session, integration_id, body.dedup_key)
    ticket = await locked_ticket(session, alert.ticket_id) if alert is not None else None
    now = utcnow()
    state = domain.TicketNow(ticket.status, ticket.resolved_at) if ticket is not None else None
    outcome = domain.decide(body.action, state, known=alert is not None, now=now, window=window)
    if outcome == Outcome.CREATED:
        return _open(session, source, body, alert, now)
    if outcome == Outcome.REPEATED:
        alert.occurrences, alert.last_seen_at = alert.occurrences + 1, now
        event = new_event(SOURCE, domain.repeated(
            ticket.id, source=source, dedup_key=body.dedup_key, occurrences=alert.occurrences,
            summary=body.summary or "", severity=body.severity,
        ))
        add_to_outbox(session, TICKETS_EVENTS, event)
        stage_insert(session, TimelineEntry.__table__, timeline_row(event))  # intake does not read it back
    elif outcome == Outcome.REOPENED:
        alert.occurrences, alert.last_seen_at = alert.occurrences + 1, now
        stage(session, ticket, requester_domain.reopen(
            ticket, f"Raised again by integration {source.name}: {body.summary}", now=now, window=window
        ))
    elif outcome == Outcome.RESOLVED and domain.needs_resolving(state):
        stage(session, ticket, domain.resolved_by_source(ticket.id, ticket.tier, source=source, words=body.summary))
    return Received(ticket.id, outcome, alert.occurrences)


def _open(session: AsyncSession, source: domain.Source, body: EventBody, alert: Alert | None, now: datetime) -> Received:
    links = [(str(link.href), link.text) for link in body.links]
    ticket = domain.ticket_body(
        source, summary=body.summary or "", category_hint=body.category_hint, severity=body.severity, origin=body.source, component=body.component,
        custom_details=body.custom_details, links=links, dedup_key=body.dedup_key,
    )
    accepted = stage_submission(session, ticket, integration_id=source.id)
    if alert is None:
        # Staged: two new keys at once collide on the unique constraint at commit (see receive_event).
        stage_insert(session, Alert.__table__, {
            "integration_id": source.id, "dedup_key": body.dedup_key, "ticket_id": accepted.id,
            "occurrences": 1, "first_seen_at": now, "last_seen_at": now,
        })
    else:  # the key's last ticket is closed, or resolved too long ago: this is a new incident
        alert.ticket_id, alert.occurrences, alert.first_seen_at, alert.last_seen_at = accepted.id, 1, now, now
    return Received(accepted.id, Outcome.CREATED, 1)


async def _locked_alert(session: AsyncSession, integration_id: str, dedup_key: str) -> Alert | None:
    query = (
        select(Alert).where(Alert.integration_id == integration_id, Alert.dedup_key == dedup_key).with_for_update()
    )
    return (await session.exec(query)).first()


def _source(integration: Integration | None) -> domain.Source:
    if integration is None or integration.revoked_at is not None:
        raise NotFound("integration not found")  # revoked between the key's check and now
    return domain.Source(
        id=integration.id, name=integration.name, organization=integration.organization,
        contact_email=integration.contact_email, contact_name=integration.contact_name,
        language=integration.language, category_hint=integration.category_hint,
        severity_map=integration.severity_map, alertmanager=integration.alertmanager,
    )


