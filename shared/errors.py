"""Broken rules as exceptions; `shared.web.errors` maps each family to one HTTP status."""

from __future__ import annotations

from shared.lifecycle import IllegalTransition


class NotFound(Exception):
    """Unknown, or not the caller's: 404."""


class Forbidden(Exception):
    """Known to the caller but not theirs to do: 403 with the reason."""


class RateLimited(Exception):
    """Too many requests: 429 with Retry-After."""

    def __init__(self, reason: str, retry_after_s: float) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class Conflict(Exception):
    """A request that contradicts the current state: 409 with the reason."""


# Subclasses inherit their family's status (handlers are looked up along the MRO).
HTTP_STATUS: dict[type[Exception], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    IllegalTransition: 409,
    RateLimited: 429,
}
