"""Prometheus Alertmanager's webhook (payload version 4) as events: the documented mapping, in one place.

Plain Python; no framework, no I/O. By default each alert of a notification is one event: its
fingerprint is the dedup_key, `firing` triggers and `resolved` resolves; labels and annotations
give the summary, the severity, the source and component, the details and links. An integration
made with `alertmanager_dedup: group` makes the whole notification one event instead: the group
key (its SHA-256) is the dedup_key, the group firing triggers and the group resolved resolves, so
an alert group is one ticket, as Alertmanager groups it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from services.intake.integrations.schemas import AlertmanagerAlert, AlertmanagerNotification, EventBody

# The `severity` label's usual values, to the four severities (anything else is a warning).
SEVERITY_OF_LABEL = {
    "critical": "critical", "page": "critical", "fatal": "critical", "emergency": "critical",
    "error": "error", "major": "error", "high": "error",
    "warning": "warning", "warn": "warning", "minor": "warning", "medium": "warning",
    "info": "info", "informational": "info", "none": "info", "low": "info",
}
DEFAULT_SEVERITY = "warning"


def summary_of(labels: dict[str, str], annotations: dict[str, str]) -> str:
    """The `summary` annotation, else `description`, else the alert's name and instance."""
    for name in ("summary", "description", "message"):
        if annotations.get(name, "").strip():
            return annotations[name].strip()[:1024]
    where = labels.get("instance") or labels.get("job")
    return f"{labels.get('alertname', 'Alert')}{f' on {where}' if where else ''}"[:1024]


def event_of(alert: AlertmanagerAlert) -> EventBody:
    """One alert of a notification as an event."""
    labels, annotations = alert.labels, alert.annotations
    links = [{"href": alert.generatorURL, "text": "source"}] if alert.generatorURL.startswith("http") else []
    if annotations.get("runbook_url", "").startswith("http"):
        links.append({"href": annotations["runbook_url"], "text": "runbook"})
    details: dict[str, Any] = {"labels": labels, "annotations": annotations, "startsAt": alert.startsAt}
    return EventBody(
        dedup_key=alert.fingerprint,
        action="trigger" if alert.status == "firing" else "resolve",
        summary=summary_of(labels, annotations),
        severity=SEVERITY_OF_LABEL.get(labels.get("severity", "").lower(), DEFAULT_SEVERITY),
        source=(labels.get("instance") or labels.get("job") or "")[:255],
        component=(labels.get("service") or labels.get("job") or "")[:255],
        custom_details=details,
        links=links,
    )


# The four severities, the gravest first: a group is as grave as its gravest alert.
_GRAVITY = ("critical", "error", "warning", "info")


def events_of(notification: AlertmanagerNotification, dedup: str) -> list[EventBody]:
    """A notification's events: one an alert (`fingerprint`), or one for the whole group (`group`)."""
    if dedup == "group":
        return [event_of_group(notification)]
    return [event_of(alert) for alert in notification.alerts]


def event_of_group(notification: AlertmanagerNotification) -> EventBody:
    """A notification as one event of its group: firing while any alert of the group fires."""
    labels, annotations = notification.commonLabels, notification.commonAnnotations
    severities = [event_of(alert).severity for alert in notification.alerts] or [DEFAULT_SEVERITY]
    firing = sum(alert.status == "firing" for alert in notification.alerts)
    summary = summary_of({**notification.groupLabels, **labels}, annotations)
    return EventBody(
        dedup_key="group:" + hashlib.sha256(notification.groupKey.encode()).hexdigest(),
        action="trigger" if notification.status == "firing" else "resolve",
        summary=f"{summary} ({firing} of {len(notification.alerts)} alerts firing)"[:1024],
        severity=SEVERITY_OF_LABEL.get(labels.get("severity", "").lower()) or min(severities, key=_GRAVITY.index),
        source=(labels.get("instance") or labels.get("job") or "")[:255],
        component=(labels.get("service") or labels.get("job") or "")[:255],
        custom_details={
            "groupKey": notification.groupKey, "groupLabels": notification.groupLabels, "commonLabels": labels,
            "alerts": [{"fingerprint": a.fingerprint, "status": a.status, "labels": a.labels}
                       for a in notification.alerts],
        },
        links=[],
    )
