"""Bad input gets a clear error and changes nothing."""

from __future__ import annotations

import pytest

from tests.e2e.test_ticket_journey import SUBMISSION, agent, queued_at, submit
from tests.helpers import eventually, requester_headers

pytestmark = pytest.mark.e2e


async def ticket_count(http, system) -> int:
    return (await http.get(f"{system.services['intake'].url}/tickets", params={"limit": 1})).json()["total"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"impact": "catastrophic"}, "impact"),
        ({"description": "x" * 1_000_000}, "description"),
        ({"requester": {"email": "not-an-address", "name": "Ann"}}, "email"),
        ({"organization": ""}, "organization"),
        ({"callback_url": "not a url"}, "callback_url"),
    ],
)
async def test_an_invalid_submission_is_refused_naming_the_field_and_stores_nothing(http, system, overrides, field):
    before = await ticket_count(http, system)
    body = {**SUBMISSION, **overrides}
    headers = requester_headers(SUBMISSION["requester"]["email"], SUBMISSION["organization"])
    response = await http.post(f"{system.services['intake'].url}/tickets", json=body, headers=headers)
    assert response.status_code == 422
    assert any(field in error["loc"] for error in response.json()["detail"])
    assert await ticket_count(http, system) == before


async def test_unknown_tickets_are_404_everywhere(http, system):
    for name, path in [("intake", "/tickets/nope"), ("tier1", "/tickets/nope"), ("notifier", "/tickets/nope/stream")]:
        response = await http.get(system.services[name].url + path)
        assert response.status_code == 404, (name, response.text)
    response = await agent(http, system, 2, "nope", "claim", agent="bob")
    assert response.status_code == 404


async def test_illegal_transitions_are_409_with_the_reason_and_change_nothing(http, system):
    ticket_id = await submit(http, system)
    await queued_at(http, system, 1, ticket_id)

    unclaimed = await agent(http, system, 1, ticket_id, "resolve", agent="alice", resolution="done")
    assert unclaimed.status_code == 409 and "claim" in unclaimed.json()["detail"]

    await agent(http, system, 1, ticket_id, "claim", agent="alice")
    await agent(http, system, 1, ticket_id, "escalate", agent="alice", reason="r")
    await queued_at(http, system, 2, ticket_id)
    await agent(http, system, 2, ticket_id, "claim", agent="bob")
    await agent(http, system, 2, ticket_id, "escalate", agent="bob", reason="r")
    await queued_at(http, system, 3, ticket_id)
    await agent(http, system, 3, ticket_id, "claim", agent="carol")

    from_top = await agent(http, system, 3, ticket_id, "escalate", agent="carol", reason="too hard")
    assert from_top.status_code == 409 and "last tier" in from_top.json()["detail"]
    left = await agent(http, system, 1, ticket_id, "claim", agent="alice")
    assert left.status_code == 409 and "escalated" in left.json()["detail"]

    await agent(http, system, 3, ticket_id, "resolve", agent="carol", resolution="fixed")
    claim_resolved = await agent(http, system, 3, ticket_id, "claim", agent="dave")
    assert claim_resolved.status_code == 409 and "resolved" in claim_resolved.json()["detail"]

    tier3 = (await http.get(f"{system.services['tier3'].url}/tickets/{ticket_id}")).json()
    assert (tier3["status"], tier3["assignee"]) == ("resolved", "carol")

    async def settled():
        view = (await http.get(f"{system.services['intake'].url}/tickets/{ticket_id}")).json()
        return view if view["status"] == "resolved" else None

    view = await eventually(settled)
    assert [e["type"] for e in view["timeline"]].count("ticket.escalated") == 2
