"""Prometheus Alertmanager's webhook (payload version 4) as events: the documented mapping, in one place.

Plain Python; no framework, no I/O. Each alert of a notification is one event: its
fingerprint is the dedup_key, `firing` triggers and `resolved` resolves; labels and
annotations give the summary, the severity, the source and component, the details and links.
"""

from __future__ import annotations

from typing import Any

from services.intake.integrations.schemas import AlertmanagerAlert, EventBody

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
