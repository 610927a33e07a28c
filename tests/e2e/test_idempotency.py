"""`Idempotency-Key` on `POST /tickets`: a retried submission is the same ticket; a reused key is refused."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.helpers import requester_headers

pytestmark = pytest.mark.e2e

BODY = {
    "title": "VPN drops every ten minutes",
    "description": "The VPN client disconnects every ten minutes since the update.",
    "requester": {"email": "idem@acme.example", "name": "Idem", "language": "en"},
    "organization": "acme",
    "impact": "low",
    "urgency": "medium",
}


async def _count(http, intake: str) -> int:
    return (await http.get(f"{intake}/tickets", params={"requester": "idem@acme.example", "limit": 1})).json()["total"]


async def test_the_same_key_and_body_answer_the_same_ticket_even_at_once(http, system):
    intake = system.services["intake"].url
    headers = {**requester_headers("idem@acme.example", "acme"), "Idempotency-Key": str(uuid.uuid4())}
    before = await _count(http, intake)
    answers = await asyncio.gather(*(http.post(f"{intake}/tickets", json=BODY, headers=headers) for _ in range(5)))
    assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert len({a.headers["Location"] for a in answers}) == 1
    assert await _count(http, intake) == before + 1


async def test_the_same_key_with_another_body_is_refused_and_changes_nothing(http, system):
    intake = system.services["intake"].url
    headers = {**requester_headers("idem@acme.example", "acme"), "Idempotency-Key": str(uuid.uuid4())}
    first = await http.post(f"{intake}/tickets", json=BODY, headers=headers)
    assert first.status_code == 202
    before = await _count(http, intake)
    other = await http.post(f"{intake}/tickets", json={**BODY, "title": "Another problem"}, headers=headers)
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]
    assert await _count(http, intake) == before
    view = (await http.get(f"{intake}/tickets/{first.json()['id']}")).json()
    assert view["title"] == BODY["title"]
