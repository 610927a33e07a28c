"""Who may do what at intake: every endpoint's permission, in one place, and the tenancy rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shared.auth import Permissions, Principal, Role
from shared.errors import Forbidden

REQUESTERS = {Role.REQUESTER, Role.ORG_ADMIN}

PERMISSIONS = Permissions(
    {
        "submit tickets": REQUESTERS,
        "read tickets": {*REQUESTERS, Role.AGENT, Role.LEAD, Role.OPS},
        "act on tickets as their requester": REQUESTERS,  # reply, self-resolve, reopen, rate
        "manage integrations": {Role.ORG_ADMIN, Role.OPS},  # create, list, revoke
        "send events": {Role.INTEGRATION},  # an integration's alerts, on the tickets it opened
    }
)


def check_submitter(principal: Principal, *, organization: str, requester_email: str) -> None:
    """Requesters submit for themselves, organization admins for their own organization."""
    if principal.org != organization:
        raise Forbidden(f"you may submit tickets for organization {principal.org!r} only")
    if principal.role == Role.REQUESTER and requester_email.lower() != principal.sub.lower():
        raise Forbidden("requesters submit tickets for themselves: requester.email must be yours")


def rate_limit(request: Request, principal: Principal) -> None:
    """Spend one request of the caller's and of their organization's allowance (429 when spent)."""
    request.app.state.limits.check(requester=principal.sub, organization=principal.org or "-")


def _acting_requester(
    request: Request, principal: Annotated[Principal, PERMISSIONS.require("act on tickets as their requester")]
) -> Principal:
    rate_limit(request, principal)
    return principal


# A requester (or their admin) replying, reopening, rating or resolving: one request of their allowance.
ActingRequester = Annotated[Principal, Depends(_acting_requester)]


def _sending_integration(
    request: Request, principal: Annotated[Principal, PERMISSIONS.require("send events")]
) -> Principal:
    # Its own allowance, sized for storms: an outage must not spend the people's (or be refused by theirs).
    request.app.state.integration_limits.check(principal.sub, f"integration {principal.sub}")
    return principal


# A monitoring system sending an event: one request of its integration's allowance.
SendingIntegration = Annotated[Principal, Depends(_sending_integration)]
