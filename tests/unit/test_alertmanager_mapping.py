"""Alertmanager's webhook mapped to events, without I/O: dedup_key, action, summary, severity, details, links."""

from __future__ import annotations

import pytest

from services.intake.integrations.alertmanager import event_of, summary_of
from services.intake.integrations.schemas import AlertmanagerAlert, AlertmanagerNotification

FIRING = {
    "status": "firing",
    "labels": {"alertname": "DiskFull", "instance": "db1:9100", "job": "node", "severity": "page"},
    "annotations": {"summary": "Disk full on db1", "runbook_url": "https://runbooks.example/disk"},
    "startsAt": "2026-12-08T00:00:00Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus.example/graph?g0.expr=disk",
    "fingerprint": "3fa1c2b4d5e6f708",
}


def test_a_firing_alert_triggers_with_its_fingerprint_as_the_key_and_its_words_as_the_ticket():
    event = event_of(AlertmanagerAlert.model_validate(FIRING))
    assert (event.dedup_key, event.action, event.summary, event.severity) == (
        "3fa1c2b4d5e6f708", "trigger", "Disk full on db1", "critical"
    )
    assert (event.source, event.component) == ("db1:9100", "node")
    assert event.custom_details["labels"]["alertname"] == "DiskFull"
    assert [link.text for link in event.links] == ["source", "runbook"]


def test_a_resolved_alert_resolves_its_key():
    event = event_of(AlertmanagerAlert.model_validate({**FIRING, "status": "resolved"}))
    assert (event.dedup_key, event.action) == ("3fa1c2b4d5e6f708", "resolve")


@pytest.mark.parametrize(("label", "severity"), [
    ("critical", "critical"), ("error", "error"), ("major", "error"), ("warning", "warning"),
    ("info", "info"), ("none", "info"), ("", "warning"), ("whatever", "warning"),
])
def test_the_severity_label_maps_to_one_of_the_four_severities(label, severity):
    alert = AlertmanagerAlert.model_validate({**FIRING, "labels": {**FIRING["labels"], "severity": label}})
    assert event_of(alert).severity == severity


def test_without_a_summary_the_description_or_the_name_and_instance_say_what_it_is():
    assert summary_of({"alertname": "Down"}, {"description": "The API is down"}) == "The API is down"
    assert summary_of({"alertname": "Down", "instance": "api:80"}, {}) == "Down on api:80"


def test_only_version_4_notifications_are_taken():
    body = {"version": "4", "status": "firing", "alerts": [FIRING]}
    assert len(AlertmanagerNotification.model_validate(body).alerts) == 1
    with pytest.raises(ValueError):
        AlertmanagerNotification.model_validate({**body, "version": "3"})
