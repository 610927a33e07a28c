"""Tenancy through every service: another organization's ticket cannot be read, changed or subscribed to.

One ticket of acme; strangers (a requester of acme who did not submit it, the same address in
another organization, globex's admin, an agent and a lead serving globex) try every endpoint
that names a ticket or an organization. Each attempt fails (404 where the ticket is named:
its existence is not revealed), and afterwards the ticket is exactly as it was. Triage names
no ticket and no organization (its knowledge base is shared by all): nothing to try there.
"""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_requester_channels import read_stream_until
from tests.e2e.test_ticket_journey import SUBMISSION, queued_at, submit
from tests.helpers import bearer, eventually, requester_headers

pytestmark = pytest.mark.e2e

ANN = requester_headers(SUBMISSION["requester"]["email"], "acme")
ACME_ADMIN = bearer("it@acme.example", "org_admin", org="acme")
GLOBEX_ADMIN = bearer("it@globex.example", "org_admin", org="globex")
STRANGERS = {
    "another requester of acme": requester_headers("bob@acme.example", "acme"),
    "the same address at globex": requester_headers(SUBMISSION["requester"]["email"], "globex"),
    "globex's admin": GLOBEX_ADMIN,
    "an agent serving globex": bearer("gina", "agent", tier=1, orgs=["globex"]),
    "a lead serving globex": bearer("gus", "lead", orgs=["globex"]),
}
REQUESTER_ACTIONS = {"replies": {"body": "mine now"}, "reopen": {}, "rating": {"score": 1}, "self-resolve": {
    "article_id": "kb-en-vpn-cannot-connect"}}
TIER_ACTIONS = {"claim": {}, "comment": {"body": "x"}, "request-info": {"question": "x?"},
                "resolve": {"resolution": "x"}, "escalate": {"reason": "x"}, "assign": {"assignee": "gina"}}


@pytest.fixture
async def acme_ticket(http, system):
    ticket_id = await submit(http, system)
    await queued_at(http, system, 1, ticket_id)
    await eventually(lambda: known_to_notifier(http, system, ticket_id, ANN))
    return ticket_id


async def known_to_notifier(http, system, ticket_id: str, requester: dict) -> bool:
    """Whether the notifier has the ticket's submission (its requester may follow it)."""
    stream = f"{system.services['notifier'].url}/tickets/{ticket_id}/stream"
    async with http.stream("GET", stream, headers=requester) as response:
        return response.status_code == 200


async def snapshot(http, system, ticket_id: str) -> tuple[dict, dict]:
    """The ticket as intake and tier 1 show it (as ops)."""
    intake = (await http.get(f"{system.services['intake'].url}/tickets/{ticket_id}")).json()
    tier = (await http.get(f"{system.services['tier1'].url}/tickets/{ticket_id}")).json()
    for view in (intake, tier):
        view.pop("sla", None)  # its clocks tick
    return intake, tier


@pytest.mark.parametrize("stranger", list(STRANGERS))
async def test_a_stranger_can_neither_read_nor_change_a_ticket_through_any_service(http, system, acme_ticket, stranger):
    headers, ticket_id = STRANGERS[stranger], acme_ticket
    before = await snapshot(http, system, ticket_id)
    intake, tier1, notifier = (system.services[s].url for s in ("intake", "tier1", "notifier"))
    attempts = {
        "intake read": await http.get(f"{intake}/tickets/{ticket_id}", headers=headers),
        "tier read": await http.get(f"{tier1}/tickets/{ticket_id}", headers=headers),
        "deliveries": await http.get(f"{notifier}/deliveries", params={"ticket_id": ticket_id}, headers=headers),
    }
    for action, body in REQUESTER_ACTIONS.items():
        attempts[f"intake {action}"] = await http.post(f"{intake}/tickets/{ticket_id}/{action}", json=body, headers=headers)
    for action, body in TIER_ACTIONS.items():
        attempts[f"tier {action}"] = await http.post(f"{tier1}/tickets/{ticket_id}/{action}", json=body, headers=headers)
    async with http.stream("GET", f"{notifier}/tickets/{ticket_id}/stream", headers=headers) as response:
        attempts["ticket stream"] = response

    for what, response in attempts.items():
        if what == "deliveries" and response.status_code == 200:
            assert response.json()["items"] == [], what  # an admin of globex lists only globex's
        else:
            assert response.status_code in (403, 404), (what, response.status_code)
        if response.status_code == 403:  # the role may not do this anywhere, so nothing is revealed
            assert ticket_id not in response.text, what
    # Every role may read a ticket at intake and follow one at the notifier: these say "not found".
    assert (attempts["intake read"].status_code, attempts["ticket stream"].status_code) == (404, 404)
    assert await snapshot(http, system, ticket_id) == before


async def test_an_organization_admin_subscribes_lists_and_deletes_for_its_own_organization_only(
    http, system, webhook_receiver
):
    notifier = system.services["notifier"].url
    own = await http.post(f"{notifier}/subscriptions", headers=ACME_ADMIN,
                          json={"url": webhook_receiver.url("tenancy/acme"), "organization": "acme"})
    assert own.status_code == 201, own.text
    sub_id = own.json()["id"]

    theirs = await http.post(f"{notifier}/subscriptions", headers=GLOBEX_ADMIN,
                             json={"url": webhook_receiver.url("tenancy/spy"), "organization": "acme"})
    assert theirs.status_code == 403
    assert (await http.get(f"{notifier}/subscriptions", params={"organization": "acme"},
                           headers=GLOBEX_ADMIN)).status_code == 403
    listed = (await http.get(f"{notifier}/subscriptions", headers=GLOBEX_ADMIN)).json()
    assert {s["organization"] for s in listed} <= {"globex"}
    assert (await http.delete(f"{notifier}/subscriptions/{sub_id}", headers=GLOBEX_ADMIN)).status_code == 404
    for requester in (ANN,):  # requesters manage no subscriptions
        assert (await http.get(f"{notifier}/subscriptions", headers=requester)).status_code == 403

    mine = (await http.get(f"{notifier}/subscriptions", headers=ACME_ADMIN)).json()
    assert sub_id in [s["id"] for s in mine] and {s["organization"] for s in mine} == {"acme"}
    assert (await http.delete(f"{notifier}/subscriptions/{sub_id}", headers=ACME_ADMIN)).status_code == 204


async def test_the_live_stream_shows_an_admin_only_its_organizations_events(http, system):
    notifier = system.services["notifier"].url
    acme_id = await submit(http, system)
    routed = lambda ticket_id: lambda message: ticket_id in message["data"]  # noqa: E731
    await eventually(lambda: known_to_notifier(http, system, acme_id, ANN))
    await read_stream_until(http, f"{notifier}/tickets/{acme_id}/stream", "ticket.routed")  # routed there too
    globex = {"email": f"g-{uuid.uuid4().hex[:6]}@globex.example", "name": "G", "language": "en"}
    globex_id = await submit(http, system, organization="globex", requester=globex)

    # Replayed from the start up to globex's new ticket, which came after acme's: none of acme's.
    seen = await read_stream_until(
        http, f"{notifier}/stream?type=ticket.routed", "ticket.routed", last_event_id="0", caller=GLOBEX_ADMIN,
        until=routed(globex_id),
    )
    assert globex_id in seen[-1]["data"]
    assert not [message for message in seen if acme_id in message["data"]]
    everything = await read_stream_until(
        http, f"{notifier}/stream?type=ticket.routed", "ticket.routed", last_event_id="0", until=routed(globex_id)
    )
    assert [message for message in everything if acme_id in message["data"]]  # as ops: both
    refused = await http.get(f"{notifier}/stream", params={"organization": "acme"}, headers=GLOBEX_ADMIN)
    assert refused.status_code == 403
