"""What a tier publishes: its agents' and SLA clocks' facts, escalations into the next tier, and, at tiers 2
and 3, the knowledge-base articles its agents write."""

from shared.messages import kb
from shared.messages import tickets as ev
from shared.messaging.wiring import Publications
from shared.topics import KB_ARTICLES, TICKETS_EVENTS, TOP_TIER, tier_topic

from services.tiers.kb.domain import WRITING_TIERS


def publications(tier: int) -> Publications:
    """The publications of tier `tier`."""
    declared: dict = {
        TICKETS_EVENTS: (
            ev.TicketAssigned, ev.TicketCommented, ev.InfoRequested, ev.TicketEscalated,
            ev.SlaWarning, ev.SlaBreached, ev.TicketResolved,
        ),
    }
    if tier < TOP_TIER:
        declared[tier_topic(tier + 1)] = (ev.TicketEscalated,)
    if tier in WRITING_TIERS:
        declared[KB_ARTICLES] = (kb.ArticlePublished, kb.ArticleUpdated, kb.ArticleRetired)
    return declared
