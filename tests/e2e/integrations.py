"""Helpers of the integrations' end-to-end tests: an integration created through intake's API, and its events."""

from __future__ import annotations

import uuid

from tests.helpers import bearer


def admin_of(organization: str) -> dict[str, str]:
    return bearer(f"it-admin@{organization}.example", "org_admin", org=organization)


async def create_integration(http, system, *, organization: str = "acme", **overrides) -> tuple[dict, dict[str, str]]:
    """A new integration of `organization` (contact e-mail unique to it) and the headers carrying its key."""
    name = f"prometheus-{uuid.uuid4().hex[:8]}"
    body = {
        "name": name,
        "kind": "events",
        "organization": organization,
        "contact": {"email": f"{name}@{organization}.example", "name": "Monitoring", "language": "en"},
        **overrides,
    }
    response = await http.post(f"{system.services['intake'].url}/integrations", json=body, headers=admin_of(organization))
    assert response.status_code == 201, response.text
    created = response.json()
    return created, {"Authorization": f"Bearer {created['api_key']}"}


async def send(http, system, key: dict[str, str], dedup_key: str, action: str = "trigger", **fields):
    """POST /events as the integration behind `key`; the raw response."""
    body = {"dedup_key": dedup_key, "action": action, **fields}
    if action == "trigger":
        body.setdefault("summary", f"Alert {dedup_key} is firing")
    return await http.post(f"{system.services['intake'].url}/events", json=body, headers=key)
