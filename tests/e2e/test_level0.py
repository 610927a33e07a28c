"""Level 0 end to end: suggestions, self-service resolution, and articles written at tier 2."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_ticket_journey import agent, queued_at, submit
from tests.helpers import agent_headers, eventually, requester_headers

pytestmark = pytest.mark.e2e

ANN = requester_headers("ann@acme.example", "acme")  # the requester of test_ticket_journey.SUBMISSION
FRENCH_REQUESTER = {"email": "chloe@acme.example", "name": "Chloé", "language": "fr"}


def url(system, service: str, path: str) -> str:
    return f"{system.services[service].url}{path}"


async def suggested(http, system, ticket_id: str) -> dict:
    """The requester's view, once triage has offered articles."""

    async def probe():
        view = (await http.get(url(system, "intake", f"/tickets/{ticket_id}"))).json()
        return view if view["suggested_articles"] and view["tier"] else None

    return await eventually(probe, timeout_s=20)


async def search(http, system, q: str, **params) -> list[dict]:
    response = await http.get(url(system, "triage", "/kb/search"), params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_a_ticket_gets_suggested_articles_in_the_requesters_view(http, system):
    ticket_id = await submit(
        http, system, title="Mot de passe oublié", requester=FRENCH_REQUESTER,
        description="Je n'arrive plus à ouvrir ma session, j'ai oublié mon mot de passe.",
    )
    view = await suggested(http, system, ticket_id)
    first = view["suggested_articles"][0]
    assert first["article_id"] == "kb-fr-mot-de-passe-oublie" and first["score"] > 0
    assert all(a["article_id"].startswith("kb-fr-") for a in view["suggested_articles"])
    assert "ticket.articles_suggested" in [e["type"] for e in view["timeline"]]

    article = (await http.get(url(system, "triage", "/kb/articles/kb-fr-mot-de-passe-oublie"))).json()
    assert article["stats"]["suggested"] >= 1 and article["stats"]["opened"] >= 1


async def test_self_resolving_with_an_article_resolves_at_level_0_and_leaves_tier_1s_queue(http, system):
    ticket_id = await submit(http, system)
    await queued_at(http, system, 1, ticket_id)
    article_id = (await suggested(http, system, ticket_id))["suggested_articles"][0]["article_id"]
    before = (await http.get(url(system, "triage", f"/kb/articles/{article_id}"))).json()["stats"]["solved"]

    self_resolve = url(system, "intake", f"/tickets/{ticket_id}/self-resolve")
    response = await http.post(self_resolve, json={"article_id": article_id}, headers=ANN)
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["level"]) == ("resolved", 0)

    async def left_tier_1():
        queue = (await http.get(url(system, "tier1", "/queue"))).json()["items"]
        held = (await http.get(url(system, "tier1", f"/tickets/{ticket_id}"))).json()
        return held if held["status"] == "resolved" and ticket_id not in [t["id"] for t in queue] else None

    await eventually(left_tier_1, timeout_s=20)
    view = (await http.get(url(system, "intake", f"/tickets/{ticket_id}"))).json()
    assert (view["status"], view["level"]) == ("resolved", 0)
    claim = await agent(http, system, 1, ticket_id, "claim", agent="alice")
    assert claim.status_code == 409

    async def counted():
        stats = (await http.get(url(system, "triage", f"/kb/articles/{article_id}"))).json()["stats"]
        return stats if stats["solved"] == before + 1 else None

    await eventually(counted, timeout_s=20)
    again = await http.post(self_resolve, json={"article_id": article_id}, headers=ANN)
    assert again.status_code == 409 and "resolved" in again.json()["detail"]


async def test_self_resolve_refuses_unknown_tickets_and_bad_bodies(http, system):
    unknown = await http.post(
        url(system, "intake", "/tickets/nope/self-resolve"), json={"article_id": "kb-en-vpn"}, headers=ANN
    )
    assert unknown.status_code == 404
    ticket_id = await submit(http, system)
    for body in ({}, {"article_id": ""}, {"article_id": "../etc"}, {"article_id": "kb-1", "extra": 1}):
        response = await http.post(url(system, "intake", f"/tickets/{ticket_id}/self-resolve"), json=body, headers=ANN)
        assert response.status_code == 422, body


async def test_classify_returns_the_articles_it_would_offer_and_why(http, system):
    response = await http.post(
        url(system, "triage", "/classify"),
        json={"title": "VPN won't connect", "description": "The VPN fails from home since this morning."},
    )
    decision = response.json()
    assert (decision["category"], decision["tier"]) == ("network", 1)
    assert decision["suggested_articles"][0]["article_id"] == "kb-en-vpn-cannot-connect"
    assert "'vpn'" in decision["explanation"] and "similar articles" in decision["explanation"]


async def test_an_article_published_at_tier_2_becomes_searchable_at_triage_then_updated_and_retired(http, system):
    word, renamed = f"zq{uuid.uuid4().hex[:8]}", f"zr{uuid.uuid4().hex[:8]}"
    article = {"title": f"Badge reader {word} beeps", "body": f"Hold the {word} badge still.",
               "language": "en", "category": "hardware", "tags": ["Badge"]}
    created = await http.post(url(system, "tier2", "/kb/articles"), json=article, headers=agent_headers("bob", 2))
    assert created.status_code == 201, created.text
    assert created.json()["author"] == "bob"  # the author is who signed in, not what a body claims
    article_id = created.json()["article_id"]
    assert created.headers["Location"] == f"/kb/articles/{article_id}"

    hits = await eventually(lambda: search(http, system, word), timeout_s=20)
    assert hits[0]["article_id"] == article_id and "<mark>" in hits[0]["snippet"]

    changed = {**article, "title": f"Badge reader {renamed} beeps", "version": 1}
    carol = agent_headers("carol", 2)
    updated = await http.put(url(system, "tier2", f"/kb/articles/{article_id}"), json=changed, headers=carol)
    assert updated.status_code == 200 and updated.json()["author"] == "carol"
    hits = await eventually(lambda: search(http, system, renamed), timeout_s=20)
    assert hits[0]["article_id"] == article_id

    retired = await http.delete(url(system, "tier2", f"/kb/articles/{article_id}"), headers=carol)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"

    async def gone():
        return not await search(http, system, renamed)

    await eventually(gone, timeout_s=20)
    shown = (await http.get(url(system, "triage", f"/kb/articles/{article_id}"))).json()
    assert (shown["status"], shown["version"]) == ("retired", 3)


async def test_only_tiers_2_and_3_write_articles(http, system):
    body = {"title": "t", "body": "b", "language": "en", "category": "other"}
    alice, dave = agent_headers("alice", 1), agent_headers("dave", 3)
    assert (await http.post(url(system, "tier1", "/kb/articles"), json=body, headers=alice)).status_code == 404
    assert (await http.post(url(system, "tier3", "/kb/articles"), json={"title": "x"}, headers=dave)).status_code == 422
    assert (await http.post(url(system, "tier3", "/kb/articles"), json=body, headers=alice)).status_code == 403
    stale = await http.put(
        url(system, "tier3", "/kb/articles/kb-en-vpn-cannot-connect"), json={**body, "title": "VPN"}, headers=dave
    )
    assert stale.status_code == 409 and "version" in stale.json()["detail"]


async def test_an_article_written_from_a_resolved_ticket_starts_from_its_resolution(http, system):
    word = f"zs{uuid.uuid4().hex[:8]}"
    description = f"The file server {word} is down for the whole accounting team."
    ticket_id = await submit(http, system, title="File server down", description=description)
    await queued_at(http, system, 2, ticket_id)
    bob = agent_headers("bob", 2)
    early = await http.post(url(system, "tier2", "/kb/articles"), json={"from_ticket_id": ticket_id}, headers=bob)
    assert early.status_code == 409 and "resolve it first" in early.json()["detail"]

    assert (await agent(http, system, 2, ticket_id, "claim", agent="bob")).status_code == 200
    resolution = "Restarted the SMB service and cleared the stuck file locks."
    assert (await agent(http, system, 2, ticket_id, "resolve", agent="bob", resolution=resolution)).status_code == 200

    created = await http.post(url(system, "tier2", "/kb/articles"), json={"from_ticket_id": ticket_id}, headers=bob)
    assert created.status_code == 201, created.text
    article = created.json()
    assert (article["title"], article["category"]) == ("File server down", "server")
    assert article["from_ticket_id"] == ticket_id
    assert article["body"].endswith(resolution) and word in article["body"]

    async def indexed():
        hits = await search(http, system, f"{word} smb locks", lang="en")
        return hits if article["article_id"] in [h["article_id"] for h in hits] else None

    assert (await eventually(indexed, timeout_s=20))[0]["article_id"] == article["article_id"]


async def test_deflection_figures_are_published(http, system):
    stats = (await http.get(url(system, "triage", "/kb/stats"))).json()
    assert stats["articles"]["published"] >= 40
    assert set(stats["totals"]) == {"suggested", "opened", "solved"}


async def test_search_refuses_an_empty_question(http, system):
    assert (await http.get(url(system, "triage", "/kb/search"), params={"q": ""})).status_code == 422
    assert (await http.get(url(system, "triage", "/kb/articles/kb-nope"))).status_code == 404
