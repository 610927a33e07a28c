"""What operators use on the running system: metrics, JSON logs that follow one ticket, KPIs, AsyncAPI, the live view."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_ticket_journey import agent, queued_at, submit
from tests.helpers import agent_headers, bearer, eventually, requester_headers

pytestmark = pytest.mark.e2e

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


async def scrape(http, system, service: str) -> dict[str, dict[tuple, float]]:
    """family name -> {(sample name, sorted labels): value} of a service's /metrics."""
    text = (await http.get(f"{system.services[service].url}/metrics")).text
    return {
        family.name: {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
        for family in text_string_to_metric_families(text)
    }


def value(families, family: str, sample: str, **labels) -> float:
    """The sum of `sample` over the series of `family` matching `labels`."""
    return sum(
        v for (name, got), v in families.get(family, {}).items()
        if name == sample and all(dict(got).get(k) == str(w) for k, w in labels.items())
    )


async def test_every_family_operators_watch_is_exported_with_what_the_system_did(http, system, webhook_receiver):
    ticket_id = await submit(http, system, organization="fastlane", callback_url=webhook_receiver.url("ops-metrics"))
    await queued_at(http, system, 1, ticket_id)

    intake = await scrape(http, system, "intake")
    assert value(intake, "escalier_events_published", "escalier_events_published_total", topic="tickets.submitted") >= 1
    assert "escalier_outbox_backlog" in intake and "escalier_outbox_oldest_age_seconds" in intake
    assert value(intake, "escalier_http_request_duration_seconds", "escalier_http_request_duration_seconds_count",
                 route="/tickets", method="POST", status="202") >= 1

    triage = await scrape(http, system, "triage")
    assert value(triage, "escalier_events_consumed", "escalier_events_consumed_total",
                 topic="tickets.submitted", type="ticket.submitted") >= 1
    assert value(triage, "escalier_events_published", "escalier_events_published_total", topic="tickets.tier1") >= 1
    assert ("escalier_dead_lettered_total", (("topic", "tickets.submitted"),)) in triage["escalier_dead_lettered"]
    assert any(name == "escalier_consumer_lag" for name, _ in triage["escalier_consumer_lag"])

    tier1 = await scrape(http, system, "tier1")
    assert {dict(labels)["status"] for _, labels in tier1["escalier_tier_queue_depth"]} >= {"queued", "in_progress"}
    # The fastlane contract answers in 2 s: the ticket's first response is breached, at tier 1 or after it.
    async def breached():
        for tier in (1, 2, 3):
            families = await scrape(http, system, f"tier{tier}")
            if value(families, "escalier_sla_clocks", "escalier_sla_clocks", clock="first_response", state="breached"):
                return True
        return False

    await eventually(breached, timeout_s=30, interval_s=0.5)

    async def notified():
        families = await scrape(http, system, "notifier")
        return value(families, "escalier_notifications", "escalier_notifications_total", channel="webhook", outcome="delivered")

    await eventually(notified, timeout_s=30, interval_s=0.5)


def log_lines(system, service: str) -> list[dict]:
    return [orjson.loads(line) for line in system.services[service].log_path.read_text().splitlines() if line.strip()]


async def test_one_tickets_trace_id_is_in_the_json_logs_of_intake_triage_and_tier_one(http, system):
    body = {
        "title": "Printer on floor 2 jams", "description": "Paper jam every page since this morning.",
        "requester": {"email": "tracy@acme.example", "name": "Tracy", "language": "en"},
        "organization": "acme", "impact": "low", "urgency": "low",
    }
    headers = {**requester_headers("tracy@acme.example", "acme"), "traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"}
    response = await http.post(f"{system.services['intake'].url}/tickets", json=body, headers=headers)
    assert response.status_code == 202, response.text
    ticket_id = response.json()["id"]
    tier = (await eventually(lambda: _routed_tier(http, system, ticket_id), timeout_s=20))

    def traced(service: str) -> list[dict]:
        return [line for line in log_lines(system, service) if line.get("trace_id") == TRACE_ID]

    def handled(service: str) -> list[list]:
        # One line a batch; each of its events names its type, ticket, event id and trace.
        return [
            event for line in log_lines(system, service) if line["message"].startswith("handled ")
            for event in line["events"] if event[3] == TRACE_ID
        ]

    async def everywhere():
        return traced("intake") and all(handled(s) for s in ("triage", f"tier{tier}"))

    await eventually(everywhere, timeout_s=20, interval_s=0.2)
    accepted = traced("intake")[0]
    assert (accepted["ticket_id"], accepted["http_status"], accepted["message"]) == (ticket_id, 202, "POST /tickets 202")
    for service in ("triage", f"tier{tier}"):
        assert all(ticket == ticket_id and event_id for _, ticket, event_id, _ in handled(service))


async def _routed_tier(http, system, ticket_id: str) -> int | None:
    view = (await http.get(f"{system.services['intake'].url}/tickets/{ticket_id}")).json()
    return view.get("tier") if view.get("status") == "queued" else None


async def _resolved_at_intake(http, system, ticket_id: str):
    view = (await http.get(f"{system.services['intake'].url}/tickets/{ticket_id}")).json()
    return view if view["status"] == "resolved" else None


async def test_reports_and_escalier_stats_give_the_same_kpis_replayed_from_the_audit_trail(
    http, system, kafka_bootstrap
):
    org = f"kpi-{uuid.uuid4().hex[:8]}"
    requester = requester_headers(f"kim@{org}.example", org)
    person = {"email": f"kim@{org}.example", "name": "Kim", "language": "en"}
    tickets = [await submit(http, system, organization=org, requester=person) for _ in range(2)]
    for ticket_id in tickets:
        await queued_at(http, system, 1, ticket_id)
        assert (await agent(http, system, 1, ticket_id, "claim", agent="alice")).status_code == 200
    fixed_first, escalated = tickets
    assert (await agent(http, system, 1, fixed_first, "resolve", agent="alice", resolution="reset")).status_code == 200
    assert (await agent(http, system, 1, escalated, "escalate", agent="alice", reason="tier 2 please")).status_code == 200
    await queued_at(http, system, 2, escalated)
    assert (await agent(http, system, 2, escalated, "claim", agent="bob")).status_code == 200
    assert (await agent(http, system, 2, escalated, "resolve", agent="bob", resolution="fixed")).status_code == 200
    for ticket_id, score in ((fixed_first, 5), (escalated, 3)):
        await eventually(lambda: _resolved_at_intake(http, system, ticket_id), timeout_s=20)
        rated = await http.post(f"{system.services['intake'].url}/tickets/{ticket_id}/rating", json={"score": score},
                                headers=requester)
        assert rated.status_code == 202, rated.text

    url = f"{system.services['tier1'].url}/reports"

    async def rated_both():
        report = (await http.get(url, params={"organization": org})).json()
        return report if len(report["satisfaction_by_path"]) == 2 else None

    report = await eventually(rated_both, timeout_s=30, interval_s=0.5)
    assert report["tickets"] == {"submitted": 2, "resolved": 2, "open": 0, "resolved_at_level_0": 0}
    assert report["first_contact_resolution"]["rate"] == 0.5
    assert report["escalation_by_tier"]["1"] == {"arrived": 2, "escalated": 1, "automatic": 0, "manual": 1, "rate": 0.5}
    assert report["satisfaction_by_path"] == {"1": {"ratings": 1, "mean": 5.0}, "1>2": {"ratings": 1, "mean": 3.0}}
    assert report["mttr"]["2"]["all"]["count"] == 1 and report["sla_compliance"]["resolution"]["rate"] == 1.0

    outsider = bearer("lead-elsewhere", "lead", orgs=["globex"])
    assert (await http.get(url, params={"organization": org}, headers=outsider)).json()["tickets"]["submitted"] == 0
    assert (await http.get(url, headers=agent_headers("alice", 1))).status_code == 403

    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "escalier_cli.main", "stats", "--bootstrap", kafka_bootstrap, "--organization", org,
        "--json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    replayed = json.loads(out)
    assert {k: v for k, v in replayed.items() if k != "events_replayed"} == {
        k: v for k, v in report.items() if k != "events_replayed"
    }
    table = subprocess.run([sys.executable, "-m", "escalier_cli.main", "stats", "--bootstrap", kafka_bootstrap,
                            "--organization", org], capture_output=True, text=True, timeout=120)
    assert table.returncode == 0, table.stderr
    assert "first-contact resolution: 50.0% (1 of 2 resolved by agents)" in table.stdout
    assert re.search(r"^1>2\s+1\s+3\.00$", table.stdout, re.MULTILINE), table.stdout


async def test_every_service_serves_its_part_of_the_committed_asyncapi_document_without_a_token(http, system):
    committed = json.loads((Path(__file__).resolve().parents[2] / "deploy" / "asyncapi.json").read_text())
    for name, service in system.services.items():
        response = await http.get(f"{service.url}/asyncapi.json", headers={"Authorization": ""})
        assert response.status_code == 200, name
        own = response.json()["operations"]
        assert own and own == {k: v for k, v in committed["operations"].items() if k.startswith(f"{name}.")}, name


async def test_escalier_watch_once_shows_an_organizations_queue_and_events(http, system, kafka_bootstrap):
    org = f"watch-{uuid.uuid4().hex[:6]}"
    person = {"email": f"wes@{org}.example", "name": "Wes", "language": "en"}
    ticket_id = await submit(http, system, organization=org, requester=person)
    await queued_at(http, system, 1, ticket_id)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "escalier_cli.main", "watch", "--once", "--bootstrap", kafka_bootstrap,
        "--organization", org, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    screen = out.decode()
    queue_row = next(line for line in screen.splitlines() if line.strip("│ ").startswith("1 "))
    assert queue_row.split("│")[2].strip() == "1"  # tier 1, queued: this organization's one ticket
    assert f"{ticket_id[:12]}" in screen and "queued at tier 1" in screen and "submitted" in screen
