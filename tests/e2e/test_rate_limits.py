"""Intake's rate limits through a real intake process: 429 with Retry-After, and nothing stored.

This intake runs alone with small allowances and no reachable broker (it answers while the
broker is away, keeping submissions in its outbox), so it shares no consumer group with the
session's system and its limits cannot be refilled by a slow pipeline during the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest

from escalier_cli.system import System
from tests.conftest import free_port
from tests.e2e.integrations import create_integration, send
from tests.e2e.test_ticket_journey import SUBMISSION
from tests.helpers import TEST_JWT_SECRET, bearer, eventually, requester_headers

pytestmark = pytest.mark.e2e

REQUESTER_BURST, ORGANIZATION_BURST, INTEGRATION_BURST = 3, 5, 8


@pytest.fixture(scope="module")
def strict_intake(tmp_path_factory) -> Iterator[str]:
    intake = System(
        bootstrap=f"127.0.0.1:{free_port()}",  # nothing listens there
        data_dir=tmp_path_factory.mktemp("strict-intake"),
        ports={"intake": free_port()},
        extra_env={
            "ESCALIER_ENV": "test",
            "ESCALIER_JWT_SECRET": TEST_JWT_SECRET,
            "ESCALIER_INTAKE_RATE_PER_REQUESTER_PER_MINUTE": "1",
            "ESCALIER_INTAKE_BURST_PER_REQUESTER": str(REQUESTER_BURST),
            "ESCALIER_INTAKE_RATE_PER_ORGANIZATION_PER_MINUTE": "1",
            "ESCALIER_INTAKE_BURST_PER_ORGANIZATION": str(ORGANIZATION_BURST),
            "ESCALIER_INTAKE_RATE_PER_INTEGRATION_PER_MINUTE": "1",
            "ESCALIER_INTAKE_BURST_PER_INTEGRATION": str(INTEGRATION_BURST),
        },
    )
    intake.start()
    try:
        yield intake.services["intake"].url
    finally:
        intake.stop()


async def submit_as(http, url: str, email: str, organization: str):
    body = {**SUBMISSION, "organization": organization, "requester": {**SUBMISSION["requester"], "email": email}}
    return await http.post(f"{url}/tickets", json=body, headers=requester_headers(email, organization))


async def test_a_requester_past_their_burst_gets_429_with_retry_after_and_nothing_is_stored(http, strict_intake):
    org = f"org-{uuid.uuid4().hex[:8]}"
    await eventually(lambda: _answers(http, strict_intake))
    statuses = [(await submit_as(http, strict_intake, f"ann@{org}.example", org)).status_code for _ in range(4)]
    assert statuses == [202] * REQUESTER_BURST + [429]

    refused = await submit_as(http, strict_intake, f"ann@{org}.example", org)
    assert refused.status_code == 429 and "requester" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    stored = (await http.get(f"{strict_intake}/tickets", params={"organization": org})).json()
    assert stored["total"] == REQUESTER_BURST

    # Requester actions spend the same allowance.
    ticket_id = stored["items"][0]["id"]
    reply = await http.post(f"{strict_intake}/tickets/{ticket_id}/replies", json={"body": "any news?"},
                            headers=requester_headers(f"ann@{org}.example", org))
    assert reply.status_code == 429


async def test_an_organization_past_its_burst_gets_429_whoever_submits(http, strict_intake):
    org = f"org-{uuid.uuid4().hex[:8]}"
    await eventually(lambda: _answers(http, strict_intake))
    people = [f"p{i}@{org}.example" for i in range(ORGANIZATION_BURST + 1)]
    statuses = [(await submit_as(http, strict_intake, email, org)).status_code for email in people]
    assert statuses == [202] * ORGANIZATION_BURST + [429]
    refused = await submit_as(http, strict_intake, f"late@{org}.example", org)
    assert refused.status_code == 429 and "organization" in refused.json()["detail"]
    other = f"org-{uuid.uuid4().hex[:8]}"
    assert (await submit_as(http, strict_intake, f"ann@{other}.example", other)).status_code == 202
    admin = bearer(f"it@{org}.example", "org_admin", org=org)
    assert (await http.get(f"{strict_intake}/tickets", headers=admin)).json()["total"] == ORGANIZATION_BURST


async def test_an_integration_has_its_own_allowance_apart_from_its_organizations_people(http, strict_intake):
    org = f"org-{uuid.uuid4().hex[:8]}"
    await eventually(lambda: _answers(http, strict_intake))
    system = SimpleNamespace(services={"intake": SimpleNamespace(url=strict_intake)})
    _, key = await create_integration(http, system, organization=org)
    # More than the organization's burst gets through: an integration's events do not spend the people's allowance.
    statuses = [(await send(http, system, key, f"k{i}")).status_code for i in range(INTEGRATION_BURST + 1)]
    assert statuses == [202] * INTEGRATION_BURST + [429]
    refused = await send(http, system, key, "late")
    assert refused.status_code == 429 and "integration" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert (await submit_as(http, strict_intake, f"ann@{org}.example", org)).status_code == 202
    stored = (await http.get(f"{strict_intake}/tickets", params={"organization": org})).json()
    assert stored["total"] == INTEGRATION_BURST + 1  # its tickets and Ann's; nothing of the refused


async def _answers(http, url: str) -> bool:
    try:
        return (await http.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False
