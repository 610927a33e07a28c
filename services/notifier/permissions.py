"""Who may do what at the notifier: every endpoint's permission, in one place, and the tenancy rules.

Requesters follow their own tickets; organization admins manage their organization's
subscriptions and see (and replay) its deliveries; agents and leads watch the stream of the
organizations they serve; ops see everything. What is not yours answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import Permissions, Principal, Role
from shared.errors import Forbidden

PERMISSIONS = Permissions(
    {
        "follow tickets": set(Role) - {Role.INTEGRATION},  # one ticket's public events, live (people)
        "watch the event stream": {Role.ORG_ADMIN, Role.AGENT, Role.LEAD, Role.OPS},
        "manage subscriptions": {Role.ORG_ADMIN, Role.OPS},
        "read deliveries": {Role.ORG_ADMIN, Role.OPS},
        "replay deliveries": {Role.ORG_ADMIN, Role.OPS},
    }
)


@dataclass(frozen=True, slots=True)
class Scope:
    """What a caller may see here: the organizations (None: all) and whether internal alerts too."""

    organizations: frozenset[str] | None
    internal: bool

    def sees(self, organization: str | None) -> bool:
        return self.organizations is None or organization in self.organizations

    def narrowed_to(self, organization: str | None) -> Scope:
        """This scope limited to one organization asked for by a filter (403 if it is not the caller's)."""
        if organization is None:
            return self
        if not self.sees(organization):
            raise Forbidden(f"you may not see organization {organization!r}")
        return Scope(frozenset({organization}), self.internal)


def scope_of(principal: Principal) -> Scope:
    if principal.role == Role.OPS:
        return Scope(None, internal=True)
    if principal.role in (Role.AGENT, Role.LEAD):
        return Scope(None if "*" in principal.orgs else frozenset(principal.orgs), internal=True)
    return Scope(frozenset({principal.org} if principal.org else ()), internal=False)


def check_subscriber(principal: Principal, organization: str) -> None:
    """Organization admins subscribe for their own organization only."""
    if not scope_of(principal).sees(organization):
        raise Forbidden(f"you may subscribe for organization {principal.org!r} only")
