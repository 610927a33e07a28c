"""Waiting for conditions with a deadline: tests never sleep in place of synchronisation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], timeout_s: float = 30.0, interval_s: float = 0.05) -> T:
    """Await `probe()` until it returns something truthy, and return that; fail at the deadline."""
    last: T | None = None
    try:
        async with asyncio.timeout(timeout_s):
            while not (last := await probe()):
                await asyncio.sleep(interval_s)
    except TimeoutError:
        raise AssertionError(f"condition not met within {timeout_s}s; last value: {last!r}") from None
    return last


TEST_JWT_SECRET = "escalier-tests-secret-0123456789abcdef"


def bearer(sub: str, role: str, **claims) -> dict[str, str]:
    """Authorization headers for a caller, signed with the secret the test system uses."""
    from shared.auth import Role, mint_token
    from shared.config import ServiceSettings

    token = mint_token(ServiceSettings(jwt_secret=TEST_JWT_SECRET), sub=sub, role=Role(role), **claims)
    return {"Authorization": f"Bearer {token}"}


OPS = bearer("ops@msp.example", "ops")


def agent_headers(name: str, tier: int) -> dict[str, str]:
    """An agent of `tier` serving every organization."""
    return bearer(name, "agent", tier=tier, orgs=["*"])


def requester_headers(email: str, organization: str) -> dict[str, str]:
    return bearer(email, "requester", org=organization)
