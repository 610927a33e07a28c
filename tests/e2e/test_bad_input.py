"""Bad input gets a clear error and changes nothing."""

from __future__ import annotations

import pytest

from tests.e2e.test_ticket_journey import SUBMISSION, agent, queued_at, submit
from tests.helpers import agent_headers, eventually, requester_headers

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


TOO_BIG = 2**63  # one past what SQLite, PostgreSQL and the events' JSON hold


@pytest.mark.parametrize(
    ("service", "path"),
    [("intake", "/tickets"), ("tier1", "/queue"), ("triage", "/kb/articles"), ("notifier", "/deliveries")],
)
async def test_a_page_offset_past_64_bits_is_422_naming_offset(http, system, service, path):
    """Found by the API fuzzing (tests/fuzz): the driver overflowed, a 500."""
    response = await http.get(system.services[service].url + path, params={"offset": TOO_BIG})
    assert response.status_code == 422, response.text
    assert any("offset" in error["loc"] for error in response.json()["detail"])
    assert (await http.get(system.services[service].url + path, params={"offset": TOO_BIG - 1})).status_code == 200


async def test_an_article_version_past_64_bits_is_422_naming_version_and_stores_nothing(http, system):
    """Found by the API fuzzing (tests/fuzz): the event's JSON overflowed on version + 1, a 500."""
    tier2 = system.services["tier2"].url
    headers = agent_headers("fuzz-regression@msp.example", 2)
    article = {"title": "Printer jam", "body": "Open tray 2.", "language": "en", "category": "hardware"}
    edit = await http.put(f"{tier2}/kb/articles/kb-huge-version", json={**article, "version": TOO_BIG - 1}, headers=headers)
    assert edit.status_code == 422, edit.text
    assert any("version" in error["loc"] for error in edit.json()["detail"])
    retire = await http.delete(f"{tier2}/kb/articles/kb-huge-version", params={"version": TOO_BIG - 1}, headers=headers)
    assert retire.status_code == 422, retire.text
    assert any("version" in error["loc"] for error in retire.json()["detail"])
    articles = (await http.get(f"{tier2}/kb/articles")).json()
    assert "kb-huge-version" not in [a["article_id"] for a in articles]


@pytest.mark.parametrize("delivery_id", [TOO_BIG, -TOO_BIG - 1, 0])
async def test_a_delivery_id_out_of_range_is_422_naming_it(http, system, delivery_id):
    """Found by the API fuzzing (tests/fuzz): past 64 bits either way the driver overflowed, a 500."""
    response = await http.post(f"{system.services['notifier'].url}/deliveries/{delivery_id}/retry")
    assert response.status_code == 422, response.text
    assert any("delivery_id" in error["loc"] for error in response.json()["detail"])


async def test_an_empty_idempotency_key_is_422_naming_it_and_stores_nothing(http, system):
    """Found by the API fuzzing (tests/fuzz): "" was stored as a key and the second "" was a 500."""
    before = await ticket_count(http, system)
    headers = {
        **requester_headers(SUBMISSION["requester"]["email"], SUBMISSION["organization"]),
        "Idempotency-Key": "",
    }
    for _ in range(2):
        response = await http.post(f"{system.services['intake'].url}/tickets", json=SUBMISSION, headers=headers)
        assert response.status_code == 422, response.text
        assert any("Idempotency-Key" in error["loc"] for error in response.json()["detail"])
    assert await ticket_count(http, system) == before


@pytest.mark.parametrize("path", ["/stream", "/tickets/nope/stream"])
async def test_a_stream_resume_point_past_64_bits_is_422_naming_it(http, system, path):
    """Seen while fuzzing (the streams themselves are not fuzzed: they never end): it reached the database."""
    url = system.services["notifier"].url + path
    by_query = await http.get(url, params={"last_event_id": TOO_BIG})
    assert by_query.status_code == 422, by_query.text
    assert any("last_event_id" in error["loc"] for error in by_query.json()["detail"])
    by_header = await http.get(url, headers={"Last-Event-ID": str(TOO_BIG)})
    assert by_header.status_code == 422, by_header.text
    assert any("Last-Event-ID" in error["loc"] for error in by_header.json()["detail"])
