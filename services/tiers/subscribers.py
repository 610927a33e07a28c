"""What a tier consumes: hand-offs into it, and the requester's actions on `tickets.events`."""

from __future__ import annotations

from functools import partial

from shared.messaging.consumer import Subscriptions
from shared.topics import TICKETS_EVENTS, tier_topic

from services.tiers.tier import Tier
from services.tiers.work.handlers import on_requester_event, receive_handoff
from services.tiers.work.models import TierTicket

# Read for a whole batch at once: each event is about one ticket's row here.
PRELOAD = (TierTicket,)


def subscriptions(tier: Tier) -> Subscriptions:
    """The subscriptions of tier `tier.number`."""
    handoff = partial(receive_handoff, tier=tier)
    requester = partial(on_requester_event, tier=tier)
    return {
        tier_topic(tier.number): {"ticket.routed": handoff, "ticket.escalated": handoff},
        TICKETS_EVENTS: {
            t: requester for t in ("ticket.requester_replied", "ticket.resolved", "ticket.reopened", "ticket.closed")
        },
    }
