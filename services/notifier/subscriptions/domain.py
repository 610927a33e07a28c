"""The subscriptions' rules: which event types one may ask for. Plain Python; no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from shared.messages import EVENT_TYPES, is_public

# Types a requester (or a subscription) may hear of: agent-only types can never be public.
REQUESTER_VISIBLE_TYPES: tuple[str, ...] = tuple(t for t in EVENT_TYPES if is_public(t, object()))


class UnknownEventTypes(ValueError):
    """A subscription asked for types that do not exist or that requesters never see: 422."""


def unknown_types(types: Iterable[str]) -> list[str]:
    """The types a subscription may not ask for: unknown, or never shown to requesters."""
    return [t for t in types if t not in REQUESTER_VISIBLE_TYPES]
