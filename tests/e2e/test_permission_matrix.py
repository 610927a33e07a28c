"""Every role against every endpoint of every service: the expected status, each time.

The routes and the roles that hold their permission are read from each service's own
app (its routes declare them); the requests go to the running system.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from shared.auth import Role
from tests.e2e.integrations import create_integration
from tests.helpers import bearer

pytestmark = pytest.mark.e2e

OPEN = {"/healthz", "/readyz", "/metrics", "/asyncapi.json"}
SERVICES = ["intake", "triage", "tier1", "tier2", "tier3", "notifier"]


def _app(name: str):
    import importlib

    if name.startswith("tier"):
        settings = importlib.import_module(f"services.{name}.settings")
        create = importlib.import_module("services.tiers.main").create_app
        return create(getattr(settings, f"Tier{name[-1]}Settings")())
    module = importlib.import_module(f"services.{name}.main")
    settings = importlib.import_module(f"services.{name}.settings")
    cls = next(v for k, v in vars(settings).items() if k.endswith("Settings") and k != "ServiceSettings")
    return module.create_app(cls())


def _flatten(items) -> list:
    # FastAPI wraps included routers; their routes sit in `original_router`.
    flat = []
    for item in items:
        inner = getattr(item, "original_router", None)
        flat.extend(_flatten(inner.routes) if inner is not None else [item])
    return flat


def routes(name: str) -> list[tuple[str, str, frozenset[Role] | None]]:
    """(method, path, roles holding its permission) for every route of a service."""
    found = []
    for route in _flatten(_app(name).routes):
        if not isinstance(route, APIRoute) or route.path in OPEN:
            continue
        roles = _declared_roles(route.dependant)
        found.extend((method, route.path, roles) for method in sorted(route.methods))
    return found


def _declared_roles(dependant) -> frozenset[Role] | None:
    """The roles of the permission a route requires, found among its dependencies at any depth."""
    for dependency in dependant.dependencies:
        roles = getattr(dependency.call, "roles", None)
        if roles is None:
            roles = _declared_roles(dependency)
        if roles is not None:
            return roles
    return None


def caller(role: Role, tier: int | None) -> dict[str, str]:
    claims = {
        Role.REQUESTER: {"org": "acme"},
        Role.ORG_ADMIN: {"org": "acme"},
        Role.AGENT: {"orgs": ["*"], "tier": tier or 1},
        Role.LEAD: {"orgs": ["*"]},
        Role.OPS: {},
    }[role]  # Role.INTEGRATION: a key, not a token (see below)
    return bearer(f"{role.value}-matrix@acme.example", role.value, **claims)


async def status_of(http, method: str, url: str, headers: dict[str, str]) -> int:
    """The response status only: a stream that is allowed stays open, so do not read it."""
    async with http.stream(method, url, headers=headers, json={}) as response:
        return response.status_code


@pytest.mark.parametrize("service", SERVICES)
def test_every_endpoint_declares_its_permission(service):
    undeclared = {(m, p) for m, p, roles in routes(service) if roles is None}
    assert undeclared == set()


@pytest.mark.parametrize("service", SERVICES)
async def test_each_role_gets_the_status_its_permissions_allow(http, system, service):
    base = system.services[service].url
    tier = int(service[-1]) if service.startswith("tier") else None
    # The integration role comes with an integration's API key, which only intake knows: elsewhere it is no credential.
    _, integration = await create_integration(http, system)
    failures = []
    for method, path, roles in routes(service):
        url = base + re.sub(r"\{[^}]+\}", "matrix-unknown-id", path)
        anonymous = await status_of(http, method, url, {"Authorization": ""})
        if anonymous != 401:
            failures.append((method, path, "anonymous", anonymous))
        for role in Role:
            headers = integration if role == Role.INTEGRATION else caller(role, tier)
            status = await status_of(http, method, url, headers)
            allowed = role in (roles or ())
            refusal = 401 if role == Role.INTEGRATION and service != "intake" else 403
            if allowed and status in (401, 403) or not allowed and status != refusal:
                failures.append((method, path, role.value, status))
    assert failures == []
