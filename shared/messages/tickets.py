"""Schemas of the ticket streams: `tickets.submitted`, `tickets.tierN` and `tickets.events`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.messages.common import (
    Category,
    Payload,
    Priority,
    Specialty,
    TicketCore,
    TicketSnapshot,
    TierNumber,
)


class TicketSubmitted(TicketCore):
    callback_url: str | None = None
    integration_id: str | None = None  # the monitoring system that raised it (intake's POST /events), if any


class TicketTriaged(Payload):
    ticket_id: str
    category: Category
    priority: Priority
    tier: TierNumber
    specialty: Specialty | None = None
    explanation: str


class SuggestedArticle(Payload):
    article_id: str
    title: str
    score: float


class ArticlesSuggested(Payload):
    ticket_id: str
    articles: list[SuggestedArticle]


class TicketRouted(Payload):
    """Triage's hand-off; on `tickets.tierN` it carries the full snapshot."""

    ticket_id: str
    tier: TierNumber
    specialty: Specialty | None = None
    priority: Priority
    snapshot: TicketSnapshot | None = None


class TicketAssigned(Payload):
    ticket_id: str
    tier: TierNumber
    assignee: str


class TicketCommented(Payload):
    ticket_id: str
    tier: TierNumber
    author: str
    body: str
    internal: bool = False


class InfoRequested(Payload):
    ticket_id: str
    tier: TierNumber
    author: str
    question: str


class RequesterReplied(Payload):
    ticket_id: str
    body: str


class TicketEscalated(Payload):
    """A move to the next tier; on `tickets.tierN` it carries the full snapshot."""

    ticket_id: str
    from_tier: TierNumber
    to_tier: TierNumber
    reason: str
    automatic: bool = False
    by: str | None = None
    specialty: Specialty | None = None
    tier_elapsed_s: float | None = None  # open seconds the ticket spent at from_tier
    snapshot: TicketSnapshot | None = None


# first_response and resolution are the contract's clocks; tier_budget is a tier's share
# of the resolution target (its OLA), whose exhaustion escalates the ticket.
Clock = Literal["first_response", "resolution", "tier_budget"]


class SlaWarning(Payload):
    ticket_id: str
    tier: TierNumber
    clock: Clock
    due_at: datetime
    target_s: float = 0
    elapsed_s: float = 0


class SlaBreached(Payload):
    """A clock ran out. `action` says what followed: an automatic escalation to the next tier,
    a hierarchical alert to the organization's escalation contact (tier 3; `reminder` counts
    the repeats while nobody claims or resolves), or nothing but the record."""

    ticket_id: str
    tier: TierNumber
    clock: Clock
    due_at: datetime
    target_s: float = 0
    elapsed_s: float = 0
    action: Literal["escalated", "alerted", "recorded"] = "recorded"
    alert_contact: str | None = None
    reminder: int = 0


class TicketResolved(Payload):
    ticket_id: str
    level: Literal[0, 1, 2, 3]
    resolution: str
    article_id: str | None = None
    by: str | None = None
    tier_seconds: dict[str, float] = {}  # open seconds spent at each tier, for reports
    # Resolved by the monitoring system that raised it (intake's POST /events), at the level the
    # ticket had reached: the tier holding it takes it out of its queue as for a level-0 resolution.
    from_source: bool = False


class AlertRepeated(Payload):
    """A monitoring system raised again an alert whose ticket is still open: one more occurrence, no new ticket."""

    ticket_id: str
    integration_id: str
    dedup_key: str
    occurrences: int = Field(ge=2)
    summary: str
    severity: Literal["critical", "error", "warning", "info"]


class TicketReopened(Payload):
    ticket_id: str
    tier: TierNumber | None = None
    reason: str = ""


class TicketClosed(Payload):
    ticket_id: str
    reason: Literal["confirmed", "automatic"] = "confirmed"


class TicketRated(Payload):
    ticket_id: str
    score: int = Field(ge=1, le=5)
    comment: str = ""
    tiers: list[int] = []
