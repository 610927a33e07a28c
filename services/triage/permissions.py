"""Who may do what at triage: every endpoint's permission, in one place.

The knowledge base is level 0: every signed-in caller reads it. How triage decides
(its rules, a dry run) and what level 0 deflects are for the support staff.
"""

from __future__ import annotations

from shared.auth import Permissions, Role

STAFF = {Role.AGENT, Role.LEAD, Role.OPS}

PERMISSIONS = Permissions(
    {
        "read the knowledge base": set(Role) - {Role.INTEGRATION},  # people; an integration's key is intake's only
        "read the routing rules": STAFF,  # the rules in force and a dry run of them
        "read deflection statistics": STAFF,
    }
)
