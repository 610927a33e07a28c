"""Who may do what at a tier: every endpoint's permission, in one place (at the top: both rooms' routes check it)."""

from __future__ import annotations

from shared.auth import Permissions, Principal, Role
from shared.errors import Forbidden

AGENTS = {Role.AGENT, Role.LEAD}

PERMISSIONS = Permissions(
    {
        "read the queue": {*AGENTS, Role.OPS},
        "read tickets": {*AGENTS, Role.OPS},
        "work tickets": AGENTS,  # claim, comment, request information, resolve, escalate
        "reassign tickets": {Role.LEAD},
        "read contracts": {*AGENTS, Role.OPS},
        "write articles": AGENTS,  # tier 2 and tier 3 only
        "read articles": {*AGENTS, Role.OPS},
        "read reports": {Role.LEAD, Role.OPS},  # GET /reports: KPIs over every tier
    }
)


def check_member(principal: Principal, tier: int) -> None:
    """Agents work at their own tier; a lead without a tier oversees every tier; ops only read."""
    if principal.role == Role.AGENT and principal.tier != tier or (
        principal.role == Role.LEAD and principal.tier not in (None, tier)
    ):
        raise Forbidden(f"you work at tier {principal.tier}, not tier {tier}")
