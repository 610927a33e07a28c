"""What triage publishes: its decision on the audit trail, and the hand-off into the tier it chose."""

from shared.messages import tickets as ev
from shared.messaging.wiring import Publications
from shared.topics import TICKETS_EVENTS, TIER_TOPICS

PUBLICATIONS: Publications = {
    TICKETS_EVENTS: (ev.TicketTriaged, ev.ArticlesSuggested, ev.TicketRouted),
    **{topic: (ev.TicketRouted,) for topic in TIER_TOPICS.values()},
}
