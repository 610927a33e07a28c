"""The requester's timeline entries, written by both rooms.

At the top because both write it: a submission its own entry, in its own transaction (intake
never reads its `ticket.submitted` back from the bus), and the requester's view every later
public fact. Plain Python; no framework, no I/O.
"""

from __future__ import annotations

from typing import Any

from shared.messages import Envelope
from shared.messages.common import Payload


def timeline_data(data: Payload) -> dict[str, Any]:
    """What a requester may read of an event: the payload without hand-off snapshots."""
    return data.model_dump(mode="json", exclude={"snapshot"})


def timeline_row(event: Envelope) -> dict[str, Any]:
    """The timeline entry of an event, as a row for `stage_insert`."""
    # A row, not an ORM object: inserted in bulk at commit (the timeline is only read elsewhere).
    return {
        "ticket_id": event.subject,
        "event_id": event.id,
        "type": event.type,
        "time": event.time,
        "data": timeline_data(event.data),
    }
