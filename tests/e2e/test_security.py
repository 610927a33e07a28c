"""Identities, roles and tenants: nobody reads or changes what is not theirs."""

from __future__ import annotations


import pytest

from tests.e2e.test_ticket_journey import SUBMISSION, queued_at, submit
from tests.helpers import agent_headers, bearer, requester_headers

pytestmark = pytest.mark.e2e

ANN = requester_headers(SUBMISSION["requester"]["email"], "acme")
BOB = requester_headers("bob@acme.example", "acme")
ACME_ADMIN = bearer("it@acme.example", "org_admin", org="acme")
GLOBEX_ADMIN = bearer("it@globex.example", "org_admin", org="globex")
GLOBEX_AGENT = bearer("gina", "agent", tier=1, orgs=["globex"])


async def test_a_requester_sees_only_their_own_tickets_and_other_tenants_see_nothing(http, system):
    ticket_id = await submit(http, system)
    await queued_at(http, system, 1, ticket_id)
    intake = f"{system.services['intake'].url}/tickets"

    assert (await http.get(f"{intake}/{ticket_id}", headers=ANN)).status_code == 200
    assert (await http.get(f"{intake}/{ticket_id}", headers=ACME_ADMIN)).status_code == 200
    for stranger in (BOB, GLOBEX_ADMIN, GLOBEX_AGENT):
        response = await http.get(f"{intake}/{ticket_id}", headers=stranger)
        assert response.status_code == 404  # not 403: its existence is not revealed
    listed = (await http.get(intake, headers=GLOBEX_ADMIN, params={"limit": 200})).json()
    assert ticket_id not in [t["id"] for t in listed["items"]]
    own = (await http.get(intake, headers=BOB, params={"limit": 200})).json()
    assert ticket_id not in [t["id"] for t in own["items"]]


async def test_an_agent_sees_and_works_only_the_organizations_it_serves(http, system):
    ticket_id = await submit(http, system)
    await queued_at(http, system, 1, ticket_id)
    tier1 = system.services["tier1"].url

    queue = (await http.get(f"{tier1}/queue", headers=GLOBEX_AGENT, params={"limit": 200})).json()["items"]
    assert ticket_id not in [t["id"] for t in queue]
    assert (await http.get(f"{tier1}/tickets/{ticket_id}", headers=GLOBEX_AGENT)).status_code == 404
    assert (await http.post(f"{tier1}/tickets/{ticket_id}/claim", headers=GLOBEX_AGENT)).status_code == 404
    ticket = (await http.get(f"{tier1}/tickets/{ticket_id}")).json()
    assert ticket["status"] == "queued" and ticket["assignee"] is None


async def test_roles_are_held_to_their_permissions(http, system):
    ticket_id = await submit(http, system)
    await queued_at(http, system, 1, ticket_id)
    tier1, tier2 = system.services["tier1"].url, system.services["tier2"].url

    assert (await http.get(f"{tier1}/queue", headers=ANN)).status_code == 403
    assert (await http.post(f"{tier1}/tickets/{ticket_id}/claim", headers=ACME_ADMIN)).status_code == 403
    wrong_tier = await http.post(f"{tier1}/tickets/{ticket_id}/claim", headers=agent_headers("bob", 2))
    assert wrong_tier.status_code == 403 and "tier 2" in wrong_tier.json()["detail"]
    assert (await http.get(f"{tier2}/queue", headers=agent_headers("alice", 1))).status_code == 403
    ops_claim = await http.post(f"{tier1}/tickets/{ticket_id}/claim")
    assert ops_claim.status_code == 403  # ops read everything and change nothing
    as_ops = await http.post(f"{system.services['intake'].url}/tickets", json=SUBMISSION)
    assert as_ops.status_code == 403


async def test_requests_without_a_valid_token_are_401_but_probes_stay_open(http, system):
    intake = system.services["intake"].url
    anonymous = {"Authorization": ""}
    response = await http.get(f"{intake}/tickets", headers=anonymous)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    forged = {"Authorization": "Bearer " + "x" * 40}
    assert (await http.get(f"{intake}/tickets", headers=forged)).status_code == 401
    expired = bearer("ann@acme.example", "requester", org="acme", ttl_s=-60)
    assert (await http.get(f"{intake}/tickets", headers=expired)).status_code == 401
    for service in system.services.values():
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
            assert (await http.get(service.url + path, headers=anonymous)).status_code == 200, (service.name, path)
    for service in system.services.values():
        schema = (await http.get(f"{service.url}/openapi.json")).json()
        assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer", service.name


async def test_a_requester_submitting_for_someone_else_or_another_organization_is_refused(http, system):
    intake = f"{system.services['intake'].url}/tickets"
    other_org = await http.post(intake, json={**SUBMISSION, "organization": "globex"}, headers=ANN)
    assert other_org.status_code == 403
    other_person = await http.post(intake, json=SUBMISSION, headers=BOB)
    assert other_person.status_code == 403 and "for themselves" in other_person.json()["detail"]


async def test_an_oversized_body_is_refused_before_it_is_read_whole(http, system):
    response = await http.post(
        f"{system.services['intake'].url}/tickets",
        content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={**ANN, "content-type": "application/json"},
    )
    assert response.status_code == 413
