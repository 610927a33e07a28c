"""What requesters hear and do, end to end: webhooks, e-mail and the live stream; reply, reopen, rate.

The system runs as processes on the real broker; the webhook receiver and the SMTP server are
real servers (tests/conftest.py), steered to fail or hang on chosen paths.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import time
import uuid

import httpx
import pytest

from services.notifier.channels.webhook.signing import verify
from tests.channels import CALLBACK_SECRET
from tests.e2e.test_ticket_journey import agent, queued_at, submit
from tests.helpers import eventually, requester_headers

pytestmark = pytest.mark.e2e

SUBSCRIPTION_SECRET = "subscription-secret-for-tests"
INTERNAL_NOTE = "The CFO's laptop is in the blast radius"


def url(system, service: str, path: str) -> str:
    return f"{system.services[service].url}{path}"


async def intake_view(http, system, ticket_id: str) -> dict:
    return (await http.get(url(system, "intake", f"/tickets/{ticket_id}"))).json()


async def until_status(http, system, ticket_id: str, status: str, service: str = "intake") -> dict:
    async def probe():
        view = (await http.get(url(system, service, f"/tickets/{ticket_id}"))).json()
        return view if view["status"] == status else None

    return await eventually(probe, timeout_s=30)


async def requester(http, system, ticket_id: str, action: str, **body) -> httpx.Response:
    """The ticket's own requester does `action` (an unknown ticket: some requester of acme)."""
    view = await http.get(url(system, "intake", f"/tickets/{ticket_id}"))
    who = view.json() if view.status_code == 200 else {"requester": {"email": "ann@acme.example"}, "organization": "acme"}
    headers = requester_headers(who["requester"]["email"], who["organization"])
    return await http.post(url(system, "intake", f"/tickets/{ticket_id}/{action}"), json=body or None, headers=headers)


async def subscribe(http, system, **body) -> httpx.Response:
    return await http.post(url(system, "notifier", "/subscriptions"), json=body)


async def deliveries_of(http, system, ticket_id: str, **filters) -> list[dict]:
    params = {"ticket_id": ticket_id, "limit": 200, **filters}
    return (await http.get(url(system, "notifier", "/deliveries"), params=params)).json()["items"]


async def at_least(items: list, n: int) -> list | None:
    return items if len(items) >= n else None


async def read_stream_until(
    http, stream_url: str, last_type: str, last_event_id: str | None = None, *, caller: dict | None = None,
    until: Callable[[dict], bool] = lambda message: True,
) -> list[dict]:
    """Every SSE message of a stream up to and including the first of type `last_type` that is `until`, as `caller`
    (ops by default)."""
    events, current = [], {}
    headers = {**(caller or {}), **({"Last-Event-ID": last_event_id} if last_event_id is not None else {})}
    async with asyncio.timeout(120):
        async with http.stream("GET", stream_url, headers=headers, timeout=None) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line:
                    field, _, value = line.partition(":")
                    current[field] = value.strip()
                    continue
                if "event" in current:
                    events.append(current)
                    if current["event"] == last_type and until(current):
                        return events
                current = {}
    return events


def signed_by(secret: str, call: dict) -> bool:
    headers = call["headers"]
    return verify(
        secret, timestamp=headers["x-escalier-timestamp"], signature=headers["x-escalier-signature"],
        body=call["body"], now=time.time(),
    )


def in_order(sequence: list[str], expected: list[str]) -> bool:
    """Whether `expected` appears in `sequence` in that order (other items may come between)."""
    remaining = iter(sequence)
    return all(item in remaining for item in expected)


async def test_a_requester_hears_of_every_public_step_on_every_channel_in_order_and_nothing_internal(
    http, system, webhook_receiver, smtp_server
):
    org = f"org-{uuid.uuid4().hex[:8]}"
    mailbox = f"zoe-{org}@acme.example"
    sub = await subscribe(
        http, system, url=webhook_receiver.url(f"sub/{org}"), organization=org, secret=SUBSCRIPTION_SECRET
    )
    assert sub.status_code == 201, sub.text
    ticket_id = await submit(
        http, system, organization=org, callback_url=webhook_receiver.url(f"callback/{org}"),
        requester={"email": mailbox, "name": "Zoé", "language": "fr"},
    )
    await queued_at(http, system, 1, ticket_id)
    await eventually(lambda: deliveries_of(http, system, ticket_id))  # notifier knows the ticket
    # Listening from here on: the stream replays the ticket's events from its start, then follows.
    stream = asyncio.create_task(
        read_stream_until(http, url(system, "notifier", f"/tickets/{ticket_id}/stream"), "ticket.rated")
    )
    assert (await agent(http, system, 1, ticket_id, "claim", agent="alice")).status_code == 200
    asked = await agent(http, system, 1, ticket_id, "request-info", agent="alice", question="Quel modèle ?")
    assert asked.status_code == 200
    note = await agent(http, system, 1, ticket_id, "comments", agent="alice", body=INTERNAL_NOTE, internal=True)
    assert note.status_code == 200
    await until_status(http, system, ticket_id, "waiting_on_requester")

    replied = await requester(http, system, ticket_id, "replies", body="Une HP LaserJet 4250")
    assert replied.status_code == 202 and replied.json()["type"] == "ticket.requester_replied"
    await until_status(http, system, ticket_id, "in_progress", service="tier1")  # the agent has the answer
    assert (await agent(http, system, 1, ticket_id, "escalate", agent="alice", reason="firmware")).status_code == 200

    await queued_at(http, system, 2, ticket_id)
    assert (await agent(http, system, 2, ticket_id, "claim", agent="bob")).status_code == 200
    resolved = await agent(http, system, 2, ticket_id, "resolve", agent="bob", resolution="Firmware updated")
    assert resolved.status_code == 200
    await until_status(http, system, ticket_id, "resolved")

    reopened = await requester(http, system, ticket_id, "reopen", reason="Ça recommence")
    assert reopened.status_code == 202, reopened.text
    back = await until_status(http, system, ticket_id, "in_progress", service="tier2")  # the tier that resolved it
    assert back["assignee"] == "bob"
    resolved = await agent(http, system, 2, ticket_id, "resolve", agent="bob", resolution="Fuser replaced")
    assert resolved.status_code == 200
    await until_status(http, system, ticket_id, "resolved")

    rated = await requester(http, system, ticket_id, "rating", score=4, comment="Rapide")
    assert rated.status_code == 202, rated.text
    again = await requester(http, system, ticket_id, "rating", score=1)
    assert again.status_code == 409 and "once per resolution" in again.json()["detail"]

    async def timeline_until_rated():
        timeline = (await intake_view(http, system, ticket_id))["timeline"]
        return timeline if timeline[-1]["type"] == "ticket.rated" else None

    timeline = await eventually(timeline_until_rated, timeout_s=30)
    ids, types = [e["id"] for e in timeline], [e["type"] for e in timeline]
    assert in_order(types, [
        "ticket.submitted", "ticket.routed", "ticket.assigned", "ticket.info_requested",
        "ticket.requester_replied", "ticket.escalated", "ticket.assigned", "ticket.resolved",
        "ticket.reopened", "ticket.resolved", "ticket.rated",
    ])
    assert timeline[-1]["data"]["tiers"] == [1, 2] and timeline[-1]["data"]["score"] == 4
    reopened_event = next(e for e in timeline if e["type"] == "ticket.reopened")
    assert reopened_event["data"]["tier"] == 2

    callbacks = await eventually(lambda: at_least(webhook_receiver.calls_to(f"callback/{org}"), len(ids)))
    subscribed = await eventually(lambda: at_least(webhook_receiver.calls_to(f"sub/{org}"), len(ids)))
    mails = await eventually(lambda: at_least(smtp_server.to(mailbox, ticket_id), len(ids)))
    events = await stream

    assert [c["json"]["id"] for c in callbacks] == ids
    assert [c["json"]["id"] for c in subscribed] == ids
    assert [m["X-Escalier-Event-Id"] for m in mails] == ids
    assert [e["event"] for e in events] == types
    assert all(signed_by(CALLBACK_SECRET, c) for c in callbacks)
    assert all(signed_by(SUBSCRIPTION_SECRET, c) for c in subscribed)
    assert all(m["Subject"].startswith(f"[#{ticket_id}] ") for m in mails)
    assert mails[0]["Subject"] == f"[#{ticket_id}] Nous avons bien reçu votre demande"
    assert "Quel modèle ?" in mails[types.index("ticket.info_requested")].get_body(("plain",)).get_content()

    everything = str(timeline) + str([c["json"] for c in callbacks + subscribed]) + str(events)
    everything += "".join(m.as_string() for m in mails)
    assert INTERNAL_NOTE not in everything and "ticket.sla_" not in everything


async def test_a_webhook_that_fails_three_times_then_recovers_receives_each_event_once_in_order(
    http, system, webhook_receiver
):
    path = f"flaky/{uuid.uuid4().hex[:8]}"
    webhook_receiver.control.fail(path, times=3)
    ticket_id = await submit(http, system, callback_url=webhook_receiver.url(path))
    await queued_at(http, system, 1, ticket_id)

    async def all_received():
        ids = [e["id"] for e in (await intake_view(http, system, ticket_id))["timeline"]]
        received = [c["json"]["id"] for c in webhook_receiver.calls_to(path)]
        return (ids, received) if received == ids else None

    ids, _ = await eventually(all_received, timeout_s=30)
    assert len([c for c in webhook_receiver.refused if c["path"] == f"/{path}"]) == 3


    async def first_delivered():
        # Sent deliveries are recorded in bulk, a few tens of milliseconds after the call.
        ledger = await deliveries_of(http, system, ticket_id)
        first = next(d for d in ledger if d["event_id"] == ids[0] and d["target"] == "callback")
        return first if first["status"] != "pending" else None

    first = await eventually(first_delivered, timeout_s=10)
    assert (first["status"], first["attempts"], first["last_error"]) == ("delivered", 3, "HTTP 503")


async def test_an_endpoint_that_never_recovers_ends_in_the_dead_letter_list_and_can_be_replayed(
    http, system, webhook_receiver
):
    path = f"down/{uuid.uuid4().hex[:8]}"
    webhook_receiver.control.fail(path)
    ticket_id = await submit(http, system, callback_url=webhook_receiver.url(path))
    await queued_at(http, system, 1, ticket_id)
    ids = [e["id"] for e in (await intake_view(http, system, ticket_id))["timeline"]]

    async def all_dead():
        items = await deliveries_of(http, system, ticket_id, channel="webhook")
        return items if len(items) == len(ids) and all(d["status"] == "dead" for d in items) else None

    dead = sorted(await eventually(all_dead, timeout_s=60), key=lambda d: d["id"])
    assert [d["event_id"] for d in dead] == ids
    assert all(d["attempts"] == 5 and d["last_error"] == "HTTP 503" for d in dead)
    assert webhook_receiver.calls_to(path) == []

    webhook_receiver.control.recover(path)
    for d in dead:
        replay = await http.post(url(system, "notifier", f"/deliveries/{d['id']}/retry"))
        assert replay.status_code == 202 and replay.json()["status"] == "pending"
    calls = await eventually(lambda: at_least(webhook_receiver.calls_to(path), len(ids)), timeout_s=30)
    assert [c["json"]["id"] for c in calls] == ids

    async def delivered():
        response = await http.post(url(system, "notifier", f"/deliveries/{dead[0]['id']}/retry"))
        return response if response.status_code == 409 else None

    assert "only a dead delivery" in (await eventually(delivered)).json()["detail"]


async def test_a_slow_or_dead_endpoint_delays_neither_other_tickets_nor_other_subscribers(
    http, system, webhook_receiver
):
    org = f"org-{uuid.uuid4().hex[:8]}"
    slow, healthy, dead = f"slow/{org}", f"healthy/{org}", f"dead/{org}"
    webhook_receiver.control.hold(slow)
    webhook_receiver.control.fail(dead)
    for path in (slow, healthy):
        assert (await subscribe(http, system, url=webhook_receiver.url(path), organization=org)).status_code == 201
    stuck = await submit(http, system, organization=org, callback_url=webhook_receiver.url(dead))
    fine = await submit(http, system, organization=org, callback_url=webhook_receiver.url(f"fine/{org}"))
    await queued_at(http, system, 1, stuck)
    await queued_at(http, system, 1, fine)
    timelines: dict[str, list[str]] = {}

    def received(path: str, ticket_id: str) -> list[str]:
        ids = [c["json"]["id"] for c in webhook_receiver.calls_to(path) if c["json"]["ticket_id"] == ticket_id]
        return list(dict.fromkeys(ids))  # a call abandoned by the notifier may be answered late: once each

    async def healthy_targets_served():
        for t in (stuck, fine):
            timelines[t] = [e["id"] for e in (await intake_view(http, system, t))["timeline"]]
        subscriber_served = all(received(healthy, t) == timelines[t] for t in timelines)
        return subscriber_served and received(f"fine/{org}", fine) == timelines[fine]

    await eventually(healthy_targets_served, timeout_s=30)
    # ...while the slow subscriber still holds its first calls and the dead callback has taken nothing.
    assert webhook_receiver.control.waiting[f"/{slow}"] >= 1 and webhook_receiver.calls_to(slow) == []
    assert webhook_receiver.calls_to(dead) == []

    webhook_receiver.control.release(slow)

    async def slow_caught_up():
        return all(received(slow, t) == timelines[t] for t in timelines)

    await eventually(slow_caught_up, timeout_s=60)


async def test_subscriptions_are_listed_without_their_secret_and_deleted(http, system, webhook_receiver):
    org = f"org-{uuid.uuid4().hex[:8]}"
    created = await subscribe(
        http, system, url=webhook_receiver.url(f"listed/{org}"), organization=org, events=["ticket.resolved"]
    )
    assert created.status_code == 201 and created.headers["Location"] == f"/subscriptions/{created.json()['id']}"
    assert len(created.json()["secret"]) >= 32  # made for the caller, shown this once

    listed = (await http.get(url(system, "notifier", "/subscriptions"), params={"organization": org})).json()
    assert [(s["id"], s["events"]) for s in listed] == [(created.json()["id"], ["ticket.resolved"])]
    assert "secret" not in listed[0]

    path = f"/subscriptions/{created.json()['id']}"
    assert (await http.delete(url(system, "notifier", path))).status_code == 204
    assert (await http.delete(url(system, "notifier", path))).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "http://10.0.0.1/hook"}, "url", "private address"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url", "link-local address"),
        ({"url": "ftp://files.example.com/x"}, "url", "URL"),
        ({"url": "https://hooks.escalier.invalid/x"}, "url", "does not resolve"),  # not checkable: refused
        ({"url": "https://hooks.example.com/x", "events": ["ticket.sla_breached"]}, "events", "agent-only"),
        ({"url": "https://hooks.example.com/x", "secret": "short"}, "secret", "16 characters"),
    ],
)
async def test_a_subscription_that_could_leak_or_reach_inside_is_refused_naming_the_field(
    http, system, body, field, words
):
    response = await subscribe(http, system, organization="acme", **body)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert field in error["loc"] and words in error["msg"]


async def test_requester_actions_refuse_what_the_ticket_does_not_allow_with_the_reason(http, system):
    ticket_id = await submit(http, system)
    await queued_at(http, system, 1, ticket_id)
    early_rating = await requester(http, system, ticket_id, "rating", score=5)
    assert early_rating.status_code == 409 and "not resolved yet" in early_rating.json()["detail"]
    early_reopen = await requester(http, system, ticket_id, "reopen")
    assert early_reopen.status_code == 409 and "reply to it instead" in early_reopen.json()["detail"]
    bad_score = await requester(http, system, ticket_id, "rating", score=6)
    assert bad_score.status_code == 422 and "score" in bad_score.json()["detail"][0]["loc"]
    assert (await requester(http, system, "nope", "replies", body="hello")).status_code == 404


async def test_the_ops_stream_filters_by_organization_and_type_and_resumes_after_last_event_id(http, system):
    org = f"org-{uuid.uuid4().hex[:8]}"
    await submit(http, system, organization="someone-else")
    ticket_id = await submit(http, system, organization=org)
    await queued_at(http, system, 1, ticket_id)
    await eventually(lambda: deliveries_of(http, system, ticket_id))
    stream_url = url(system, "notifier", f"/stream?organization={org}&type=ticket.submitted&type=ticket.routed")

    replayed = await read_stream_until(http, stream_url, "ticket.routed", last_event_id="0")
    assert [e["event"] for e in replayed] == ["ticket.submitted", "ticket.routed"]
    assert all(f'"ticket_id":"{ticket_id}"' in e["data"] for e in replayed)

    resumed = await read_stream_until(http, stream_url, "ticket.routed", last_event_id=replayed[0]["id"])
    assert [e["id"] for e in resumed] == [replayed[1]["id"]]


async def test_a_breached_sla_at_tier_three_is_emailed_to_the_escalation_contact_and_never_to_the_requester(
    http, system, smtp_server
):
    mailbox = f"max-{uuid.uuid4().hex[:8]}@fastlane.example"
    contact = "duty-manager@fastlane.example"  # tests/data/contracts.yaml: clocks of a few seconds
    ticket_id = await submit(
        http, system, organization="fastlane", requester={"email": mailbox, "name": "Max", "language": "en"}
    )

    [alert, *_] = await eventually(lambda: at_least(smtp_server.to(contact, ticket_id), 1), timeout_s=60)
    assert alert["Subject"].startswith(f"[#{ticket_id}] SLA breached: ")
    assert "at level 3" in alert["Subject"]
    assert "fastlane" in alert.get_body(("plain",)).get_content()
    to_requester = smtp_server.to(mailbox, ticket_id)
    assert to_requester and not any("SLA" in m.as_string() for m in to_requester)
    assert all(contact not in m["To"] for m in to_requester)
