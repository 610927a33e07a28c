"""Prometheus metrics of the plumbing: the process's registry, or each service's own in a packed process.

A process of one service serves the default registry, as any Prometheus client does. In a packed
process (shared.packing) the services would otherwise add to the same collectors: intake's,
triage's and the tiers' events consumed summed together, one service's consumer lag or outbox
backlog written over another's. So each family below keeps one collector per service there, in a
registry of that service's, which its `/metrics` serves. What belongs to the process as a whole
(the default registry: `process_*` and `python_*`, and the collectors a service declares itself,
labelled by tier or channel) is served once, by the first service of the process.
"""

from __future__ import annotations

from functools import partial

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from shared import packing


class _PerService:
    """One metric family: the process's collector, and in a packed process one per service."""

    def __init__(self, kind, name: str, documentation: str, labelnames=(), **options) -> None:
        self._make = partial(kind, name, documentation, labelnames, **options)
        self._of = {None: self._make()}  # in the default registry, made at import like any collector
        _FAMILIES.append(self)

    def here(self):
        """The collector of the service running now."""
        service = packing.current()
        collector = self._of.get(service)
        if collector is None:
            registry()  # makes the service's registry and a collector of every family in it
            collector = self._of[service]
        return collector

    def labels(self, *values: str):
        return self.here().labels(*values)

    def __getattr__(self, name: str):
        return getattr(self.here(), name)


_FAMILIES: list[_PerService] = []
_registries: dict[str, CollectorRegistry] = {}

CONSUMED = _PerService(Counter, "escalier_events_consumed_total", "Events consumed", ["topic", "type"])
DEAD_LETTERED = _PerService(Counter, "escalier_dead_lettered_total", "Messages sent to a DLQ", ["topic"])
STORAGE_WAITS = _PerService(
    Counter, "escalier_consumer_storage_waits_total", "Consumer back-offs for an unavailable database", ["kind"]
)
PUBLISHED = _PerService(Counter, "escalier_events_published_total", "Outbox rows published", ["topic"])
CONSUMER_LAG = _PerService(
    Gauge, "escalier_consumer_lag", "Records behind the partition's high watermark", ["topic", "partition"]
)
OUTBOX_BACKLOG = _PerService(Gauge, "escalier_outbox_backlog", "Outbox rows waiting to be published")
OUTBOX_OLDEST_AGE = _PerService(Gauge, "escalier_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row")
HTTP_REQUESTS = _PerService(
    Histogram,
    "escalier_http_request_duration_seconds",
    "HTTP requests by route, method and status",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def registry() -> CollectorRegistry:
    """What the running service's `/metrics` serves: the default registry, or its own in a packed process."""
    service = packing.current()
    if service is None:
        return REGISTRY
    own = _registries.get(service)
    if own is None:
        own = _registries[service] = CollectorRegistry()
        for family in _FAMILIES:
            family._of[service] = family._make(registry=own)
    return own


class _ProcessWide:
    """The default registry less the plumbing's families: what a packed process has once."""

    def collect(self):
        plumbing = {metric.name for family in _FAMILIES for metric in family._of[None].collect()}
        return (metric for metric in REGISTRY.collect() if metric.name not in plumbing)


def serve_process_figures() -> None:
    """Let the running service's `/metrics` serve the process's own figures too (one service per packed process)."""
    registry().register(_ProcessWide())


_children: dict[tuple, object] = {}


def child(metric, *labels: str):
    """`metric.labels(*labels)` of the running service, looked up once: on the hot path (every record consumed or
    published, every request) `labels()` took 2-4 µs a call, most of it spent again each time."""
    key = (packing.current(), metric, labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found
