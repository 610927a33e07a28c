"""Alertmanager's webhook mapped to events, without I/O: dedup_key, action, summary, severity, details, links."""

from __future__ import annotations

import pytest

from services.intake.integrations import alertmanager
from services.intake.integrations.schemas import AlertmanagerAlert, AlertmanagerMapping, AlertmanagerNotification

DEFAULT = AlertmanagerMapping()


def event_of(alert: AlertmanagerAlert, mapping: AlertmanagerMapping = DEFAULT):
    return alertmanager.event_of(alert, mapping)


def summary_of(labels: dict, annotations: dict, mapping: AlertmanagerMapping = DEFAULT) -> str:
    return alertmanager.summary_of(labels, annotations, mapping)

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


def test_the_mapping_is_the_integrations_own_annotations_labels_and_severity_values():
    mapping = AlertmanagerMapping(
        summary_annotations=["title"], severity_label="priority", severities={"p1": "critical", "p3": "info"},
        category_label="team",
    )
    labels = {**FIRING["labels"], "priority": "P1", "team": "network"}
    alert = AlertmanagerAlert.model_validate({**FIRING, "labels": labels, "annotations": {"title": "Uplink down"}})
    event = event_of(alert, mapping)
    assert (event.summary, event.severity, event.category_hint) == ("Uplink down", "critical", "network")
    # A label value that is no category leaves the integration's default; an unknown value, the default severity.
    other = AlertmanagerAlert.model_validate({**FIRING, "labels": {"priority": "P9", "team": "payments"}})
    assert (event_of(other, mapping).category_hint, event_of(other, mapping).severity) == (None, "warning")
    assert event_of(AlertmanagerAlert.model_validate(FIRING)).category_hint is None  # no `category` label


def test_by_group_a_notification_is_one_event_of_its_group_as_grave_as_its_gravest_alert():
    warning = {**FIRING, "fingerprint": "a2", "labels": {**FIRING["labels"], "severity": "warning"}}
    body = AlertmanagerNotification.model_validate({
        "version": "4", "status": "firing", "groupKey": '{}:{alertname="DiskFull"}',
        "commonLabels": {"alertname": "DiskFull"}, "commonAnnotations": {},
        "alerts": [FIRING, {**warning, "status": "resolved"}],
    })
    (event,) = alertmanager.events_of(body, AlertmanagerMapping(dedup="group"))
    again = alertmanager.event_of_group(body, AlertmanagerMapping(dedup="group"))
    assert event.dedup_key == again.dedup_key and event.dedup_key.startswith("group:")
    assert (event.action, event.severity) == ("trigger", "critical")
    assert event.summary == "DiskFull (1 of 2 alerts firing)"
    assert [a["fingerprint"] for a in event.custom_details["alerts"]] == ["3fa1c2b4d5e6f708", "a2"]
    assert len(alertmanager.events_of(body, DEFAULT)) == 2  # by fingerprint: an event an alert
