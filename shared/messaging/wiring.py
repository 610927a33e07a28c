"""What a service publishes and consumes, declared once.

Each service declares its publications (topic → the event schemas it stages there, in its
`publishers.py`) and its subscriptions (topic → event type → handler, in its `subscribers.py`);
its runtime holds both. The consumer runner reads the subscriptions; the AsyncAPI documents
(shared/asyncapi.py) are derived from both: a service's own at its `/asyncapi.json`, the whole
system's in `deploy/asyncapi.json`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from shared.messages.common import Payload
from shared.messages.registry import TYPE_OF

# topic -> the event schemas a service publishes on it
Publications = Mapping[str, Collection[type[Payload]]]


@dataclass(frozen=True)
class Wiring:
    """One service's place on the bus: the event types it sends and receives, per topic."""

    service: str
    publishes: Mapping[str, frozenset[str]]
    consumes: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, service: str, *, publications: Publications, subscriptions: Mapping[str, Mapping]) -> Wiring:
        """The wiring a service's declarations describe (the handlers themselves are not its concern)."""
        return cls(
            service=service,
            publishes={topic: frozenset(TYPE_OF[s] for s in schemas) for topic, schemas in publications.items()},
            consumes={topic: frozenset(handlers) for topic, handlers in subscriptions.items()},
        )

    def sends(self, topic: str, event_type: str) -> bool:
        """Whether this service declares publishing `event_type` on `topic`."""
        return event_type in self.publishes.get(topic, ())
