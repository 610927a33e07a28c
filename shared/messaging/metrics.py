"""Prometheus metrics of the plumbing, one registry per process."""

from functools import cache

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter("escalier_events_consumed_total", "Events consumed", ["topic", "type"])
DEAD_LETTERED = Counter("escalier_dead_lettered_total", "Messages sent to a DLQ", ["topic"])
STORAGE_WAITS = Counter("escalier_consumer_storage_waits_total", "Consumer back-offs for an unavailable database", ["kind"])
PUBLISHED = Counter("escalier_events_published_total", "Outbox rows published", ["topic"])
CONSUMER_LAG = Gauge(
    "escalier_consumer_lag", "Records behind the partition's high watermark", ["topic", "partition"]
)
OUTBOX_BACKLOG = Gauge("escalier_outbox_backlog", "Outbox rows waiting to be published")
OUTBOX_OLDEST_AGE = Gauge("escalier_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row")
HTTP_REQUESTS = Histogram(
    "escalier_http_request_duration_seconds",
    "HTTP requests by route, method and status",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@cache
def child(metric, *labels: str):
    """`metric.labels(*labels)`, looked up once: on the hot path (every record consumed or
    published, every request) `labels()` took 2-4 µs a call, most of it spent again each time."""
    return metric.labels(*labels)
