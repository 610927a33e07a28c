"""The only place topic names are written."""

from __future__ import annotations

TICKETS_SUBMITTED = "tickets.submitted"
TICKETS_EVENTS = "tickets.events"
KB_ARTICLES = "kb.articles"
TIER_TOPICS: dict[int, str] = {1: "tickets.tier1", 2: "tickets.tier2", 3: "tickets.tier3"}
TOP_TIER = max(TIER_TOPICS)


def tier_topic(tier: int) -> str:
    """The hand-off topic into a tier."""
    return TIER_TOPICS[tier]


def dlq(topic: str) -> str:
    """The dead-letter topic of a source topic."""
    return f"{topic}.dlq"


SOURCE_TOPICS: tuple[str, ...] = (TICKETS_SUBMITTED, TICKETS_EVENTS, KB_ARTICLES, *TIER_TOPICS.values())
ALL_TOPICS: tuple[str, ...] = SOURCE_TOPICS + tuple(dlq(t) for t in SOURCE_TOPICS)
