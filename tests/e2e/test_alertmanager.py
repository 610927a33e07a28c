"""The real Alertmanager (Debian's prometheus-alertmanager) on loopback, sending its webhook to intake with an
integration's key: an alert posted to its own API becomes a ticket, its repeats occurrences, its resolution the
ticket's, and the requester side hears each fact once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.integrations import create_integration
from tests.e2e.test_requester_channels import read_stream_until
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

CONFIG = """
route:
  receiver: escalier
  group_by: ["alertname", "instance"]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: escalier
    webhook_configs:
      - url: {intake}/integrations/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
"""


def alert(instance: str, *, ends_at: datetime | None = None) -> dict:
    body = {
        "labels": {"alertname": "EscalierTestDiskFull", "instance": instance, "severity": "critical", "job": "node"},
        "annotations": {"summary": f"Disk full on {instance}"},
        "generatorURL": "http://prometheus.example/graph",
    }
    if ends_at is not None:
        body["endsAt"] = ends_at.isoformat()
    return body


async def test_alerts_from_alertmanager_open_repeat_on_and_resolve_one_ticket_each(http, system, alertmanagers):
    intake = system.services["intake"].url
    created, key = await create_integration(http, system, kind="alertmanager")
    am = alertmanagers.start(CONFIG.format(intake=intake, key=key["Authorization"].removeprefix("Bearer ")))
    contact = created["contact"]["email"]
    instance = f"db-{created['id'][:8]}"

    assert (await http.post(f"{am}/api/v2/alerts", json=[alert(instance)])).status_code == 200

    async def its_ticket():
        page = (await http.get(f"{intake}/tickets", params={"requester": contact})).json()
        return page["items"] if page["total"] else None

    (ticket,) = await eventually(its_ticket, timeout_s=30)
    assert ticket["title"] == f"Disk full on {instance}"

    async def repeated():
        view = (await http.get(f"{intake}/tickets/{ticket['id']}")).json()
        return view if any(e["type"] == "ticket.alert_repeated" for e in view["timeline"]) else None

    view = await eventually(repeated, timeout_s=30)  # Alertmanager's repeat_interval: an occurrence, no new ticket
    assert view["priority"] == "P1" and "EscalierTestDiskFull" in view["description"]

    ended = datetime.now(UTC) - timedelta(seconds=1)
    assert (await http.post(f"{am}/api/v2/alerts", json=[alert(instance, ends_at=ended)])).status_code == 200

    async def resolved():
        # The status at once (intake's own fact), the timeline entry once the fact is back from the log.
        view = (await http.get(f"{intake}/tickets/{ticket['id']}")).json()
        facts = [e["data"] for e in view["timeline"] if e["type"] == "ticket.resolved"]
        return facts[0] if view["status"] == "resolved" and facts else None

    resolution = await eventually(resolved, timeout_s=30)
    assert resolution["from_source"] and "Disk full" in resolution["resolution"]
    assert (await http.get(f"{intake}/tickets", params={"requester": contact})).json()["total"] == 1

    # The requester side (notifier's live stream of the ticket) heard each fact once, in order.
    stream = f"{system.services['notifier'].url}/tickets/{ticket['id']}/stream"
    heard = await read_stream_until(http, stream, "ticket.resolved")
    ids = [m["id"] for m in heard]
    assert len(ids) == len(set(ids))
    types = [m["event"] for m in heard]
    assert types[0] == "ticket.submitted" and "ticket.alert_repeated" in types and types[-1] == "ticket.resolved"
