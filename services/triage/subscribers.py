"""What triage consumes: new submissions on `tickets.submitted`."""

from __future__ import annotations

from functools import partial

from shared.messaging.consumer import Subscriptions
from shared.topics import TICKETS_SUBMITTED

from services.triage.domain import RuleSet
from services.triage.handlers import route_ticket


def subscriptions(rules: RuleSet) -> Subscriptions:
    """Triage's subscriptions, routing with `rules`."""
    return {TICKETS_SUBMITTED: {"ticket.submitted": partial(route_ticket, rules=rules)}}
