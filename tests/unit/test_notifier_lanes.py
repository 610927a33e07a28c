"""The lane book: which pending deliveries may go, in what order, within the caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.notifier.dispatch.lanes import LaneBook

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@dataclass
class Row:
    id: int
    lane: str
    endpoint: str = "hooks.example:443"
    next_attempt_at: datetime = NOW


def book(max_in_flight: int = 10, per_endpoint: int = 2) -> LaneBook:
    return LaneBook(max_in_flight=max_in_flight, cap_of=lambda _endpoint: per_endpoint)


def drain(b: LaneBook, lane: str) -> list[int]:
    """Send a lane's due deliveries the way a sender does; their ids."""
    sent = []
    while (head := b.head(lane)) is not None and head.next_attempt_at <= NOW:
        sent.append(head.id)
        b.done(lane)
    b.finished(lane)
    return sent


def test_only_one_sender_per_lane_and_deliveries_go_in_id_order():
    b = book()
    b.add([Row(3, "a"), Row(1, "a"), Row(2, "b")])
    assert b.take(NOW) == ["a", "b"]
    assert b.take(NOW) == []  # both in flight
    b.add([Row(4, "a")])  # committed while lane a is in flight: joins it, no second sender
    assert b.take(NOW) == []
    assert drain(b, "a") == [1, 3, 4]
    assert len(b) == 1


def test_a_replayed_older_delivery_goes_before_the_lanes_later_ones():
    b = book()
    b.add([Row(7, "a")])
    b.add([Row(5, "a")])
    assert b.take(NOW) == ["a"]
    assert drain(b, "a") == [5, 7]


def test_known_ids_are_not_added_twice_until_forgotten():
    b = book()
    assert b.add([Row(1, "a")]) == 1
    assert b.add([Row(1, "a")]) == 0
    b.take(NOW)
    drain(b, "a")
    assert b.add([Row(1, "a")]) == 0  # sent, not yet recorded: a rescan must not bring it back
    b.forget([1])
    assert not b.knows(1)


def test_an_endpoint_never_has_more_lanes_in_flight_than_its_cap_and_waiting_lanes_go_first():
    b = book(per_endpoint=2)
    b.add([Row(i, f"lane{i}") for i in range(1, 6)])
    b.add([Row(10, "other", endpoint="elsewhere:443")])
    assert b.take(NOW) == ["lane1", "lane2", "other"]
    drain(b, "lane1")
    b.add([Row(11, "late")])
    assert b.take(NOW) == ["lane3"]  # the one waiting longest, not the newcomer
    drain(b, "lane2")
    drain(b, "lane3")
    assert b.take(NOW) == ["lane4", "lane5"]
    drain(b, "lane4")
    assert b.take(NOW) == ["late"]


def test_the_global_cap_holds_across_endpoints():
    b = book(max_in_flight=2, per_endpoint=5)
    b.add([Row(1, "a", endpoint="x"), Row(2, "b", endpoint="y"), Row(3, "c", endpoint="z")])
    assert b.take(NOW) == ["a", "b"]
    drain(b, "b")
    assert b.take(NOW) == ["c"]


def test_a_lane_backing_off_waits_for_its_head_and_holds_its_later_deliveries():
    b = book()
    later = NOW + timedelta(seconds=30)
    b.add([Row(1, "a", next_attempt_at=later), Row(2, "a"), Row(3, "b")])
    assert b.take(NOW) == ["b"]
    assert b.next_due() == later
    assert b.take(later - timedelta(seconds=1)) == []
    assert b.take(later) == ["a"]


def test_a_lane_whose_sender_stopped_on_a_failure_is_taken_again_once_due():
    b = book()
    b.add([Row(1, "a")])
    assert b.take(NOW) == ["a"]
    b.head("a").next_attempt_at = NOW + timedelta(seconds=5)  # the attempt failed: backoff
    b.finished("a")
    assert b.take(NOW) == []
    assert b.take(NOW + timedelta(seconds=5)) == ["a"]
    assert b.in_flight == 1
