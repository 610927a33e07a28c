"""Every event type, its schema, and whether a requester may see it."""

from __future__ import annotations

from shared.messages import kb, tickets
from shared.messages.common import Payload

EVENT_TYPES: dict[str, type[Payload]] = {
    "ticket.submitted": tickets.TicketSubmitted,
    "ticket.triaged": tickets.TicketTriaged,
    "ticket.articles_suggested": tickets.ArticlesSuggested,
    "ticket.routed": tickets.TicketRouted,
    "ticket.assigned": tickets.TicketAssigned,
    "ticket.commented": tickets.TicketCommented,
    "ticket.info_requested": tickets.InfoRequested,
    "ticket.requester_replied": tickets.RequesterReplied,
    "ticket.escalated": tickets.TicketEscalated,
    "ticket.sla_warning": tickets.SlaWarning,
    "ticket.sla_breached": tickets.SlaBreached,
    "ticket.alert_repeated": tickets.AlertRepeated,
    "ticket.resolved": tickets.TicketResolved,
    "ticket.reopened": tickets.TicketReopened,
    "ticket.closed": tickets.TicketClosed,
    "ticket.rated": tickets.TicketRated,
    "kb.article_published": kb.ArticlePublished,
    "kb.article_updated": kb.ArticleUpdated,
    "kb.article_retired": kb.ArticleRetired,
}
TYPE_OF: dict[type[Payload], str] = {schema: name for name, schema in EVENT_TYPES.items()}

# Agent-only facts: SLA clock alarms are for the tiers; internal comments are filtered by flag.
_AGENT_ONLY = frozenset({"ticket.sla_warning", "ticket.sla_breached"})


def is_public(event_type: str, data: Payload) -> bool:
    """Whether a requester may see this event (timeline, webhooks, e-mail, stream)."""
    if not event_type.startswith("ticket.") or event_type in _AGENT_ONLY:
        return False
    return not getattr(data, "internal", False)
