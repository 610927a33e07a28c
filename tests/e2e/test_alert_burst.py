"""An alert storm from one integration through the running system: 300 events in about 30 s, 100 keys
three times each, shuffled so repeats race their key's first trigger. Exactly one ticket per key,
every occurrence counted, no 429, nothing lost on the way to the tiers."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from escalier_cli.verify import database_urls, verify
from tests.e2e.integrations import create_integration, send
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

KEYS, REPEATS, SECONDS = 100, 3, 30.0


async def test_a_storm_of_300_alerts_makes_100_tickets_and_counts_300_occurrences(http, system):
    intake = system.services["intake"].url
    created, key = await create_integration(http, system)
    events = [f"host-{i:03d}-down" for i in range(KEYS)] * REPEATS
    random.Random(20).shuffle(events)

    async def paced(start: float, i: int, dedup_key: str, action: str = "trigger"):
        # Pacing the load, not waiting for a condition: event i leaves at its slot, 10 a second.
        await asyncio.sleep(max(0.0, start + i * SECONDS / len(events) - time.monotonic()))
        return await send(http, system, key, dedup_key, action, severity="warning", source=dedup_key[:8])

    now = time.monotonic()
    answers = await asyncio.gather(*(paced(now, i, k) for i, k in enumerate(events)))

    assert sorted({a.status_code for a in answers}) == [202]
    bodies = [a.json() for a in answers]
    outcomes = [b["outcome"] for b in bodies]
    assert (outcomes.count("created"), outcomes.count("repeated")) == (KEYS, KEYS * (REPEATS - 1))
    ticket_of: dict[str, set[str]] = {}
    for dedup_key, body in zip(events, bodies):
        ticket_of.setdefault(dedup_key, set()).add(body["ticket_id"])
    assert all(len(ids) == 1 for ids in ticket_of.values()) and len(ticket_of) == KEYS
    assert sum(max(b["occurrences"] for b, k in zip(bodies, events) if k == dedup_key) for dedup_key in ticket_of) == 300

    contact = created["contact"]["email"]

    async def all_routed():
        page = (await http.get(f"{intake}/tickets", params={"requester": contact, "limit": 200})).json()
        return page if page["total"] == KEYS and all(t["status"] == "queued" for t in page["items"]) else None

    page = await eventually(all_routed, timeout_s=60, interval_s=0.5)
    assert {t["id"] for t in page["items"]} == {next(iter(ids)) for ids in ticket_of.values()}
    sample = next(iter(ticket_of["host-000-down"]))
    view = (await http.get(f"{intake}/tickets/{sample}")).json()
    assert [e["data"]["occurrences"] for e in view["timeline"] if e["type"] == "ticket.alert_repeated"] == [2, 3]

    # The storm ends: the source resolves every alert, which empties the tier's queue of them (the
    # session's other tests read that queue), and nothing else changes.
    now = time.monotonic()
    resolves = await asyncio.gather(*(paced(now, i, k, action="resolve") for i, k in enumerate(ticket_of)))
    assert {(r.status_code, r.json()["outcome"]) for r in resolves} == {(202, "resolved")}

    async def all_resolved():
        page = (await http.get(f"{intake}/tickets", params={"requester": contact, "status": "resolved", "limit": 200})).json()
        return page["total"] == KEYS

    await eventually(all_resolved, timeout_s=60, interval_s=0.5)

    # GET /reports (as `escalier stats`) counts them per integration, from the log (once the relay has published it all).
    expected = {"tickets": KEYS, "occurrences": 300, "resolved_by_source": KEYS}

    async def reported():
        reports = (await http.get(f"{system.services['tier1'].url}/reports", timeout=60)).json()
        return reports["integrations"].get(created["id"]) == expected

    await eventually(reported, timeout_s=60, interval_s=1.0)

    # `escalier verify`: intake, the tiers, notifier and the event log agree on every ticket.
    urls = database_urls(system.data_dir, {})

    async def consistent():
        report = await verify(system.bootstrap, urls)
        return report if report.ok else None

    try:
        await eventually(consistent, timeout_s=90, interval_s=1.0)
    except AssertionError:
        raise AssertionError("\n".join((await verify(system.bootstrap, urls)).lines(limit=30))) from None
