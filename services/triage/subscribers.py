"""What triage consumes: submissions to route, articles to index, level-0 resolutions to count."""

from __future__ import annotations

from functools import partial

from shared.messaging.consumer import Subscriptions
from shared.topics import KB_ARTICLES, TICKETS_EVENTS, TICKETS_SUBMITTED

from services.triage.knowledge.handlers import apply_article, record_self_resolution, retire_article
from services.triage.routing.handlers import Triage, route_ticket
from services.triage.routing.models import TriageDecision

# Read for a whole batch at once: each submission asks whether its ticket was decided already.
PRELOAD = (TriageDecision,)


def subscriptions(triage: Triage) -> Subscriptions:
    """Triage's subscriptions, deciding with `triage`'s rules and knowledge base."""
    kb = triage.kb
    return {
        TICKETS_SUBMITTED: {"ticket.submitted": partial(route_ticket, triage=triage)},
        KB_ARTICLES: {
            "kb.article_published": partial(apply_article, kb=kb),
            "kb.article_updated": partial(apply_article, kb=kb),
            "kb.article_retired": partial(retire_article, kb=kb),
        },
        TICKETS_EVENTS: {"ticket.resolved": record_self_resolution},
    }
