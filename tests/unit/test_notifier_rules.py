"""Notifier's rules: webhook shape and retry schedule, without I/O."""

from datetime import UTC, datetime, timedelta, timezone

from shared.messages.common import Requester, TicketSnapshot
from shared.messages.tickets import TicketRouted

from services.notifier.channels.webhook.domain import is_success, webhook_headers
from services.notifier.dispatch.domain import RetryPolicy, after_failure, backoff_ceiling, backoff_delay, lane_of
from services.notifier.domain import DeliveryStatus, event_body
from services.notifier.fanout.domain import public_data

POLICY = RetryPolicy(max_attempts=8, base_s=0.5, max_s=60.0)
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _body() -> dict:
    return event_body(
        event_id="ev-1", event_type="ticket.assigned", time=NOW, ticket_id="t-1", data={"assignee": "ana"}
    )


def test_backoff_ceiling_doubles_with_each_failure_until_the_cap():
    ceilings = [backoff_ceiling(n, base_s=0.5, max_s=60.0) for n in range(1, 12)]
    assert ceilings[:4] == [0.5, 1.0, 2.0, 4.0]
    assert all(a <= b for a, b in zip(ceilings, ceilings[1:]))
    assert ceilings[-1] == 60.0


def test_backoff_never_exceeds_the_cap_even_after_a_huge_number_of_attempts():
    assert backoff_ceiling(10_000, base_s=0.5, max_s=60.0) == 60.0
    assert backoff_delay(10_000, base_s=0.5, max_s=60.0, rand=lambda: 0.999) < 60.0


def test_backoff_is_fully_jittered_between_zero_and_the_ceiling():
    assert backoff_delay(3, base_s=0.5, max_s=60.0, rand=lambda: 0.0) == 0.0
    assert backoff_delay(3, base_s=0.5, max_s=60.0, rand=lambda: 0.5) == 1.0
    delays = [backoff_delay(5, base_s=0.5, max_s=60.0) for _ in range(200)]
    assert all(0.0 <= d < 8.0 for d in delays)
    assert len(set(delays)) > 1


def test_a_failed_delivery_is_retried_later_while_attempts_remain():
    outcome = after_failure(2, now=NOW, policy=POLICY, rand=lambda: 1.0)
    assert outcome.status == DeliveryStatus.PENDING
    assert outcome.attempts == 3
    assert outcome.next_attempt_at == NOW + timedelta(seconds=2.0)


def test_a_delivery_is_dead_after_its_last_allowed_attempt():
    outcome = after_failure(POLICY.max_attempts - 1, now=NOW, policy=POLICY)
    assert outcome.status == DeliveryStatus.DEAD
    assert outcome.attempts == POLICY.max_attempts


def test_webhook_body_carries_id_type_time_ticket_and_data():
    assert _body() == {
        "id": "ev-1",
        "type": "ticket.assigned",
        "time": "2025-03-01T12:00:00+00:00",
        "ticket_id": "t-1",
        "data": {"assignee": "ana"},
    }


def test_webhook_body_time_is_given_in_utc_whatever_the_source_zone():
    paris = NOW.astimezone(timezone(timedelta(hours=1)))
    body = event_body(event_id="e", event_type="ticket.closed", time=paris, ticket_id="t", data={})
    assert body["time"] == "2025-03-01T12:00:00+00:00"


def test_webhook_headers_name_the_event_and_declare_json():
    assert webhook_headers(_body()) == {
        "content-type": "application/json",
        "X-Escalier-Event-Id": "ev-1",
        "X-Escalier-Event-Type": "ticket.assigned",
        "X-Escalier-Event-Time": "2025-03-01T12:00:00+00:00",
    }


def test_only_2xx_responses_count_as_delivered():
    assert is_success(200) and is_success(204) and is_success(299)
    assert not any(is_success(code) for code in (199, 301, 404, 429, 500))


def test_requester_never_sees_the_hand_off_snapshot():
    snapshot = TicketSnapshot(
        ticket_id="t-1", title="VPN", description="down", organization="acme", impact="high", urgency="high",
        priority="P1", category="network", submitted_at=NOW,
        requester=Requester(email="a@acme.test", name="A"),
    )
    routed = TicketRouted(ticket_id="t-1", tier=1, priority="P1", snapshot=snapshot)
    assert public_data(routed) == {"ticket_id": "t-1", "tier": 1, "specialty": None, "priority": "P1"}


def test_a_permanent_failure_is_dead_at_once_whatever_attempts_remain():
    outcome = after_failure(0, now=NOW, policy=POLICY, permanent=True)
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DEAD, 1)


def test_lanes_keep_order_per_target_and_ticket_only():
    assert lane_of("callback", "t-1") != lane_of("callback", "t-2") != lane_of("subscription:s", "t-1")
