"""Integrations through the running system: their keys, their de-duplicated alerts, and what the tiers do with them."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.integrations import admin_of, create_integration, send
from tests.e2e.test_ticket_journey import queued_at
from tests.helpers import bearer, eventually

pytestmark = pytest.mark.e2e


async def test_an_admin_creates_lists_and_revokes_an_integration_whose_key_then_stops_working(http, system):
    intake = system.services["intake"].url
    created, key = await create_integration(http, system)
    assert created["api_key"].startswith("escalier_ik_") and created["key_hint"].startswith("escalier_ik_")
    assert created["severity_map"]["critical"] == {"impact": "high", "urgency": "high"}

    listed = (await http.get(f"{intake}/integrations", headers=admin_of("acme"))).json()["items"]
    mine = next(i for i in listed if i["id"] == created["id"])
    assert "api_key" not in mine and "key_hash" not in mine and created["api_key"] not in str(listed)
    others = (await http.get(f"{intake}/integrations", headers=admin_of("globex"))).json()["items"]
    assert created["id"] not in {i["id"] for i in others}
    assert (await send(http, system, key, "disk-full")).status_code == 202

    assert (await http.delete(f"{intake}/integrations/{created['id']}", headers=admin_of("globex"))).status_code == 404
    revoked = await http.delete(f"{intake}/integrations/{created['id']}", headers=admin_of("acme"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    again = await http.delete(f"{intake}/integrations/{created['id']}", headers=admin_of("acme"))
    assert again.status_code == 409 and "already revoked" in again.json()["detail"]
    refused = await send(http, system, key, "disk-full")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


async def test_integrations_are_refused_for_another_organization_and_for_bad_fields(http, system):
    intake = system.services["intake"].url
    body = {"name": "p", "organization": "globex", "contact": {"email": "noc@globex.example", "name": "NOC"}}
    assert (await http.post(f"{intake}/integrations", json=body, headers=admin_of("acme"))).status_code == 403
    bad = await http.post(f"{intake}/integrations", json={**body, "kind": "nagios"}, headers=admin_of("globex"))
    assert bad.status_code == 422 and "kind" in str(bad.json()["detail"])
    _, key = await create_integration(http, system)
    wrong = await send(http, system, key, "k", severity="fatal")
    assert wrong.status_code == 422 and "severity" in str(wrong.json()["detail"])
    missing = await http.post(f"{intake}/events", json={"dedup_key": "k", "action": "trigger"}, headers=key)
    assert missing.status_code == 422 and "summary" in str(missing.json()["detail"])
    # A token cannot claim the integration role: only a key carries it.
    forged = bearer("anything", "integration", org="acme")
    assert (await http.post(f"{intake}/events", json={"dedup_key": "k", "action": "resolve"}, headers=forged)).status_code == 401


async def test_an_alert_repeats_on_its_ticket_is_resolved_by_its_source_out_of_the_tier_and_reopened(http, system):
    intake, tier1 = system.services["intake"].url, system.services["tier1"].url
    _, key = await create_integration(http, system, category_hint="account")
    first = await send(http, system, key, "vpn-down", severity="critical", source="gw1", custom_details={"loss": "100%"})
    assert first.status_code == 202 and first.json()["outcome"] == "created"
    ticket_id = first.json()["ticket_id"]
    await queued_at(http, system, 1, ticket_id)

    repeats = [(await send(http, system, key, "vpn-down", severity="critical")).json() for _ in range(2)]
    assert [(r["ticket_id"], r["outcome"], r["occurrences"]) for r in repeats] == [
        (ticket_id, "repeated", 2), (ticket_id, "repeated", 3)
    ]
    view = (await http.get(f"{intake}/tickets/{ticket_id}")).json()
    assert [e["data"]["occurrences"] for e in view["timeline"] if e["type"] == "ticket.alert_repeated"] == [2, 3]
    assert view["priority"] == "P1" and "loss" in view["description"]

    acknowledged = await send(http, system, key, "vpn-down", action="acknowledge")
    assert acknowledged.status_code == 202 and acknowledged.json()["outcome"] == "acknowledged"
    resolved = await send(http, system, key, "vpn-down", action="resolve", summary="gateway back")
    assert resolved.status_code == 202 and resolved.json()["outcome"] == "resolved"

    async def out_of_queue():
        items = (await http.get(f"{tier1}/queue")).json()["items"]
        return all(t["id"] != ticket_id for t in items)

    await eventually(out_of_queue, timeout_s=20)

    async def on_the_timeline():
        view = (await http.get(f"{intake}/tickets/{ticket_id}")).json()
        return view if any(e["type"] == "ticket.resolved" for e in view["timeline"]) else None

    view = await eventually(on_the_timeline, timeout_s=20)
    assert (view["status"], view["level"]) == ("resolved", 1)
    fact = next(e for e in view["timeline"] if e["type"] == "ticket.resolved")
    assert fact["data"]["from_source"] and "gateway back" in fact["data"]["resolution"]
    assert (await send(http, system, key, "vpn-down", action="resolve")).json()["outcome"] == "resolved"  # again: no-op

    reopened = await send(http, system, key, "vpn-down", severity="critical")
    assert reopened.json()["outcome"] == "reopened" and reopened.json()["ticket_id"] == ticket_id
    await queued_at(http, system, 1, ticket_id)


async def test_an_integration_acts_only_on_the_alerts_it_raised(http, system):
    intake = system.services["intake"].url
    _, mine = await create_integration(http, system)
    _, other = await create_integration(http, system)
    ticket_id = (await send(http, system, mine, "db-slow")).json()["ticket_id"]

    assert (await send(http, system, other, "db-slow", action="resolve")).status_code == 404
    assert (await send(http, system, other, "never-seen", action="acknowledge")).status_code == 404
    assert (await send(http, system, other, "db-slow")).json()["ticket_id"] != ticket_id
    assert (await http.get(f"{intake}/tickets/{ticket_id}", headers=mine)).status_code == 403
    assert (await http.get(f"{intake}/tickets/{ticket_id}")).json()["status"] != "resolved"


async def test_triggers_of_the_same_new_key_at_once_make_one_ticket(http, system):
    _, key = await create_integration(http, system)
    answers = await asyncio.gather(*(send(http, system, key, "same-new-key") for _ in range(10)))
    assert {a.status_code for a in answers} == {202}
    bodies = [a.json() for a in answers]
    assert len({b["ticket_id"] for b in bodies}) == 1
    assert sorted(b["outcome"] for b in bodies) == ["created"] + ["repeated"] * 9
    assert sorted(b["occurrences"] for b in bodies) == list(range(1, 11))
