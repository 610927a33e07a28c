"""Prometheus metrics of the plumbing, one registry per process."""

from prometheus_client import Counter

CONSUMED = Counter("escalier_events_consumed_total", "Events consumed", ["topic", "type"])
DEAD_LETTERED = Counter("escalier_dead_lettered_total", "Messages sent to a DLQ", ["topic"])
PUBLISHED = Counter("escalier_events_published_total", "Outbox rows published", ["topic"])
