"""Token buckets per requester and per organization."""

import pytest

from shared.errors import RateLimited
from services.intake.ratelimit import Limiter, RequesterLimits


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_granted_then_refused_with_the_wait_until_the_next_token():
    clock = FakeClock()
    limiter = Limiter(per_minute=60, burst=3, clock=clock)
    for _ in range(3):
        limiter.check("ann", "ann")
    with pytest.raises(RateLimited) as refused:
        limiter.check("ann", "ann")
    assert refused.value.retry_after_s == pytest.approx(1.0)
    clock.now += 1.0
    limiter.check("ann", "ann")


def test_one_requester_does_not_spend_another_s_allowance():
    limiter = Limiter(per_minute=60, burst=1, clock=FakeClock())
    limiter.check("ann", "ann")
    limiter.check("bob", "bob")
    with pytest.raises(RateLimited):
        limiter.check("ann", "ann")


def test_an_organization_is_limited_as_a_whole():
    clock = FakeClock()
    limits = RequesterLimits(
        requester=Limiter(per_minute=600, burst=10, clock=clock), organization=Limiter(per_minute=60, burst=2, clock=clock)
    )
    limits.check(requester="a", organization="acme")
    limits.check(requester="b", organization="acme")
    with pytest.raises(RateLimited, match="organization acme"):
        limits.check(requester="c", organization="acme")
    limits.check(requester="d", organization="globex")
