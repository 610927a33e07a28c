"""Prometheus Alertmanager's webhook (payload version 4) as events: the documented mapping, in one place.

Plain Python; no framework, no I/O. By default each alert of a notification is one event: its
fingerprint is the dedup_key, `firing` triggers and `resolved` resolves; labels and annotations
give the summary, the severity, the source and component, the details and links. An integration
made with `alertmanager.dedup: group` makes the whole notification one event instead: the group
key (its SHA-256) is the dedup_key, the group firing triggers and the group resolved resolves, so
an alert group is one ticket, as Alertmanager groups it. Which annotations make the summary, which
labels give the severity and the category hint, and extra severity values are the integration's
(schemas.AlertmanagerMapping).
"""

from __future__ import annotations

import hashlib
from typing import Any, get_args

from shared.messages.common import Category

from services.intake.integrations.schemas import (
    AlertmanagerAlert,
    AlertmanagerMapping,
    AlertmanagerNotification,
    EventBody,
)

# The `severity` label's usual values, to the four severities (anything else is a warning).
SEVERITY_OF_LABEL = {
    "critical": "critical", "page": "critical", "fatal": "critical", "emergency": "critical",
    "error": "error", "major": "error", "high": "error",
    "warning": "warning", "warn": "warning", "minor": "warning", "medium": "warning",
    "info": "info", "informational": "info", "none": "info", "low": "info",
}
DEFAULT_SEVERITY = "warning"
CATEGORIES = frozenset(get_args(Category))


def summary_of(labels: dict[str, str], annotations: dict[str, str], mapping: AlertmanagerMapping) -> str:
    """The first of the mapping's annotations that is set, else the alert's name and instance."""
    for name in mapping.summary_annotations:
        if annotations.get(name, "").strip():
            return annotations[name].strip()[:1024]
    where = labels.get("instance") or labels.get("job")
    return f"{labels.get('alertname', 'Alert')}{f' on {where}' if where else ''}"[:1024]


def severity_of(labels: dict[str, str], mapping: AlertmanagerMapping) -> str | None:
    """The severity the mapping's label says (its own values first, then the usual ones), None if it says none."""
    value = labels.get(mapping.severity_label, "").lower()
    return mapping.severities.get(value) or SEVERITY_OF_LABEL.get(value)


def category_of(labels: dict[str, str], mapping: AlertmanagerMapping) -> str | None:
    """The category the mapping's label names, if it is one (else the integration's default applies)."""
    value = labels.get(mapping.category_label, "").lower()
    return value if value in CATEGORIES else None


def events_of(notification: AlertmanagerNotification, mapping: AlertmanagerMapping) -> list[EventBody]:
    """A notification's events: one an alert (`dedup: fingerprint`), or one for the whole group (`group`)."""
    if mapping.dedup == "group":
        return [event_of_group(notification, mapping)]
    return [event_of(alert, mapping) for alert in notification.alerts]


def event_of(alert: AlertmanagerAlert, mapping: AlertmanagerMapping) -> EventBody:
    """One alert of a notification as an event."""
    labels, annotations = alert.labels, alert.annotations
    links = [{"href": alert.generatorURL, "text": "source"}] if alert.generatorURL.startswith("http") else []
    if annotations.get("runbook_url", "").startswith("http"):
        links.append({"href": annotations["runbook_url"], "text": "runbook"})
    details: dict[str, Any] = {"labels": labels, "annotations": annotations, "startsAt": alert.startsAt}
    return EventBody(
        dedup_key=alert.fingerprint,
        action="trigger" if alert.status == "firing" else "resolve",
        summary=summary_of(labels, annotations, mapping),
        category_hint=category_of(labels, mapping),
        severity=severity_of(labels, mapping) or DEFAULT_SEVERITY,
        source=(labels.get("instance") or labels.get("job") or "")[:255],
        component=(labels.get("service") or labels.get("job") or "")[:255],
        custom_details=details,
        links=links,
    )


# The four severities, the gravest first: a group is as grave as its gravest alert.
_GRAVITY = ("critical", "error", "warning", "info")


def event_of_group(notification: AlertmanagerNotification, mapping: AlertmanagerMapping) -> EventBody:
    """A notification as one event of its group: firing while any alert of the group fires."""
    labels, annotations = notification.commonLabels, notification.commonAnnotations
    severities = [event_of(alert, mapping).severity for alert in notification.alerts] or [DEFAULT_SEVERITY]
    firing = sum(alert.status == "firing" for alert in notification.alerts)
    summary = summary_of({**notification.groupLabels, **labels}, annotations, mapping)
    return EventBody(
        dedup_key="group:" + hashlib.sha256(notification.groupKey.encode()).hexdigest(),
        action="trigger" if notification.status == "firing" else "resolve",
        summary=f"{summary} ({firing} of {len(notification.alerts)} alerts firing)"[:1024],
        category_hint=category_of(labels, mapping),
        severity=severity_of(labels, mapping) or min(severities, key=_GRAVITY.index),
        source=(labels.get("instance") or labels.get("job") or "")[:255],
        component=(labels.get("service") or labels.get("job") or "")[:255],
        custom_details={
            "groupKey": notification.groupKey, "groupLabels": notification.groupLabels, "commonLabels": labels,
            "alerts": [{"fingerprint": a.fingerprint, "status": a.status, "labels": a.labels}
                       for a in notification.alerts],
        },
        links=[],
    )
