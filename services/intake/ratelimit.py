"""Rate limits on what requesters send: token buckets per requester and per organization.

Plain Python with an injectable clock. Buckets live in the process: with several intake
replicas each enforces its own share (the limit scales with the replica count).

At the top, not in a room: a submission and a requester's action spend the same allowance
(permissions.rate_limit); create_app builds the limits once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.errors import RateLimited


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> float:
        """Take one token: 0 if granted, else the seconds until one is available."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate_per_s


@dataclass
class Limiter:
    """One bucket per key, all with the same rate; idle buckets are forgotten."""

    per_minute: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def check(self, key: str, what: str) -> None:
        """Spend one request of `key`; RateLimited with the wait if none is left."""
        now = self.clock()
        if len(self._buckets) > 100_000:
            self._forget_idle(now)
        bucket = self._buckets.setdefault(key, TokenBucket(self.per_minute / 60, self.burst))
        wait = bucket.take(now)
        if wait > 0:
            raise RateLimited(f"too many requests for {what}; retry in {wait:.1f}s", wait)

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / (self.per_minute / 60)
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}


@dataclass
class RequesterLimits:
    """Intake's limits: each requester, and each organization as a whole."""

    requester: Limiter
    organization: Limiter

    def check(self, *, requester: str, organization: str) -> None:
        self.requester.check(requester, f"requester {requester}")
        self.organization.check(organization, f"organization {organization}")
