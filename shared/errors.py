"""Broken rules as exceptions; `shared.runtime` maps each family to one HTTP status."""

from __future__ import annotations

from shared.lifecycle import IllegalTransition


class NotFound(Exception):
    """Unknown, or not the caller's: 404."""


class Conflict(Exception):
    """A request that contradicts the current state: 409 with the reason."""


# Subclasses inherit their family's status (handlers are looked up along the MRO).
HTTP_STATUS: dict[type[Exception], int] = {NotFound: 404, Conflict: 409, IllegalTransition: 409}
