"""A ticket's whole path through the six services, as processes on the real broker."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.helpers import agent_headers, eventually, requester_headers

pytestmark = pytest.mark.e2e

SUBMISSION = {
    "title": "I forgot my password",
    "description": "Cannot log in to my laptop since this morning, password rejected.",
    "requester": {"email": "ann@acme.example", "name": "Ann", "language": "en"},
    "organization": "acme",
    "impact": "medium",
    "urgency": "high",
}


async def submit(http, system, **overrides) -> str:
    body = {**SUBMISSION, **overrides}
    headers = requester_headers(body["requester"]["email"], body["organization"])
    response = await http.post(f"{system.services['intake'].url}/tickets", json=body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/tickets/{response.json()['id']}"
    return response.json()["id"]


async def queued_at(http, system, tier: int, ticket_id: str) -> dict:
    """The ticket as tier `tier` queues it, once it is there."""

    async def probe():
        queue = (await http.get(f"{system.services[f'tier{tier}'].url}/queue")).json()["items"]
        return next((t for t in queue if t["id"] == ticket_id and t["status"] == "queued"), None)

    return await eventually(probe, timeout_s=20)


async def agent(http, system, tier: int, ticket_id: str, action: str, *, agent: str, **body) -> httpx.Response:
    """`agent`, an agent of `tier`, does `action` on the ticket."""
    url = f"{system.services[f'tier{tier}'].url}/tickets/{ticket_id}/{action}"
    return await http.post(url, json=body, headers=agent_headers(agent, tier))


async def test_a_ticket_climbs_three_tiers_and_the_requester_sees_every_public_step_in_order(
    http, system, webhook_receiver
):
    ticket_id = await submit(http, system, callback_url=webhook_receiver.url("journey"))

    await queued_at(http, system, 1, ticket_id)
    assert (await agent(http, system, 1, ticket_id, "claim", agent="alice")).status_code == 200
    assert (await agent(http, system, 1, ticket_id, "escalate", agent="alice", reason="beyond a reset")).status_code == 200

    at_tier2 = await queued_at(http, system, 2, ticket_id)
    assert at_tier2["snapshot"]["tiers_visited"] == [1, 2]
    assert (await agent(http, system, 2, ticket_id, "claim", agent="bob")).status_code == 200
    assert (await agent(http, system, 2, ticket_id, "escalate", agent="bob", reason="directory corruption", specialty="security")).status_code == 200

    at_tier3 = await queued_at(http, system, 3, ticket_id)
    assert at_tier3["specialty"] == "security"
    assert (await agent(http, system, 3, ticket_id, "claim", agent="carol")).status_code == 200
    internal = await agent(http, system, 3, ticket_id, "comments", agent="carol", body="AD replica is stale", internal=True)
    assert internal.status_code == 200
    public = await agent(http, system, 3, ticket_id, "comments", agent="carol", body="We found the cause.")
    assert public.status_code == 200
    resolved = await agent(http, system, 3, ticket_id, "resolve", agent="carol", resolution="Replica resynced; password reset.")
    assert resolved.status_code == 200

    async def requester_view():
        view = (await http.get(f"{system.services['intake'].url}/tickets/{ticket_id}")).json()
        return view if view["status"] == "resolved" else None

    view = await eventually(requester_view, timeout_s=20)
    assert (view["level"], view["tier"], view["priority"]) == (3, 3, "P2")
    types = [e["type"] for e in view["timeline"]]
    assert types == [
        "ticket.submitted",
        "ticket.triaged",
        "ticket.articles_suggested",  # a forgotten password: level 0 offers the reset article
        "ticket.routed",
        "ticket.assigned",
        "ticket.escalated",
        "ticket.assigned",
        "ticket.escalated",
        "ticket.assigned",
        "ticket.commented",
        "ticket.resolved",
    ]
    assert "AD replica is stale" not in str(view)
    assert all("snapshot" not in e["data"] for e in view["timeline"])

    timeline_ids = [e["id"] for e in view["timeline"]]

    async def webhook_calls():
        calls = webhook_receiver.calls_to("journey")
        return calls if len(calls) >= len(timeline_ids) else None

    calls = await eventually(webhook_calls, timeout_s=20)
    assert [c["json"]["id"] for c in calls] == timeline_ids
    assert [c["headers"]["x-escalier-event-type"] for c in calls] == types
    assert "AD replica is stale" not in str(calls)


async def test_the_ticket_stream_replays_public_events_and_resumes_after_last_event_id(http, system):
    ticket_id = await submit(http, system)
    await queued_at(http, system, 1, ticket_id)
    url = f"{system.services['notifier'].url}/tickets/{ticket_id}/stream"

    first = await _read_sse(http, url, count=4)
    assert [e["event"] for e in first] == [
        "ticket.submitted", "ticket.triaged", "ticket.articles_suggested", "ticket.routed"
    ]

    assert (await agent(http, system, 1, ticket_id, "claim", agent="dave")).status_code == 200
    resumed = await _read_sse(http, url, count=1, last_event_id=first[-1]["id"])
    assert [e["event"] for e in resumed] == ["ticket.assigned"]


async def _read_sse(http, url: str, count: int, last_event_id: str | None = None) -> list[dict]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events, current = [], {}
    async with asyncio.timeout(20):
        async with http.stream("GET", url, headers=headers, timeout=None) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if not line:
                    if "event" in current:
                        events.append(current)
                    current = {}
                    if len(events) == count:
                        return events
                    continue
                field, _, value = line.partition(":")
                current[field] = value.strip()
    return events
