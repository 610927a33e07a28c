"""The webhook call's rules: its headers, and which answers count as taken. Plain Python; no I/O."""

from __future__ import annotations

from typing import Any


def webhook_headers(body: dict[str, Any]) -> dict[str, str]:
    """The headers of a webhook call (signature aside); the event id lets receivers drop redeliveries."""
    return {
        "content-type": "application/json",
        "X-Escalier-Event-Id": body["id"],
        "X-Escalier-Event-Type": body["type"],
        "X-Escalier-Event-Time": body["time"],
    }


def is_success(status_code: int) -> bool:
    """Whether the receiver took the call (any 2xx)."""
    return 200 <= status_code < 300
