"""Business-hours arithmetic: nights, weekends, holidays and daylight-saving changes."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.sla.calendar import Calendar
from shared.sla.clock import Clock
from shared.sla.contracts import Contracts, duration_s

PARIS = ZoneInfo("Europe/Paris")
OFFICE = Calendar(timezone=PARIS, opens=time(9), closes=time(17), holidays=frozenset({date(2026, 12, 25)}))


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def test_around_the_clock_counts_every_second():
    start = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
    assert Calendar().add(start, 3600) == start + timedelta(hours=1)
    assert Calendar().seconds_between(start, start + timedelta(days=1)) == 86400


def test_time_after_closing_waits_for_the_next_morning():
    assert OFFICE.add(paris(2026, 11, 24, 16, 0), 2 * 3600) == paris(2026, 11, 25, 10, 0)


def test_a_friday_evening_ticket_is_due_on_monday():
    assert OFFICE.add(paris(2026, 11, 27, 16, 30), 3600) == paris(2026, 11, 30, 9, 30)


def test_a_holiday_is_skipped():
    # Thursday 24 Dec 16:00 + 2h: 1h on Thursday, Friday 25 is a holiday, the weekend, then Monday.
    assert OFFICE.add(paris(2026, 12, 24, 16, 0), 2 * 3600) == paris(2026, 12, 28, 10, 0)


def test_nights_and_weekends_do_not_count():
    assert OFFICE.seconds_between(paris(2026, 11, 27, 16, 0), paris(2026, 11, 30, 10, 0)) == 2 * 3600


def test_the_spring_daylight_saving_change_keeps_local_opening_hours():
    # 29 March 2026: Paris moves from UTC+1 to UTC+2 over the weekend.
    due = OFFICE.add(paris(2026, 3, 27, 16, 0), 2 * 3600)
    assert due == paris(2026, 3, 30, 10, 0)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert OFFICE.seconds_between(paris(2026, 3, 27, 16, 0), due) == 2 * 3600


def test_the_autumn_change_on_a_working_day_calendar():
    sunday_shift = Calendar(timezone=PARIS, weekdays=frozenset(range(7)), opens=time(0), closes=time(23, 59))
    # 25 Oct 2026 02:00-03:00 happens twice; a day-long window is 24h59m of real time that day.
    start, end = paris(2026, 10, 25, 0, 0), paris(2026, 10, 25, 23, 59)
    assert sunday_shift.seconds_between(start, end) == (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
    assert sunday_shift.seconds_between(start, end) == 24 * 3600 + 59 * 60


def test_a_paused_clock_moves_its_due_time_by_the_pause():
    clock = Clock.started(600, datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    due = clock.due_at(Calendar())
    clock.pause(datetime(2026, 11, 29, 9, 2, tzinfo=UTC), Calendar())
    assert clock.paused and clock.due_at(Calendar()) is None
    clock.resume(datetime(2026, 11, 29, 9, 7, tzinfo=UTC))
    assert clock.due_at(Calendar()) == due + timedelta(minutes=5)
    assert clock.elapsed_s(datetime(2026, 11, 29, 9, 8, tzinfo=UTC), Calendar()) == 180


@pytest.mark.parametrize(
    ("value", "seconds"), [(90, 90), ("90s", 90), ("15m", 900), ("4h", 14400), ("1d", 86400), ("2bd", 2 * 28800)]
)
def test_durations_accept_seconds_and_units(value, seconds):
    assert duration_s(value, business_day_s=28800) == seconds


def test_the_shipped_contracts_have_the_documented_defaults():
    contracts = Contracts.load()
    default = contracts.for_organization("nobody-in-particular")
    assert default.target_s("P1", "first_response") == 15 * 60
    assert default.target_s("P3", "resolution") == 2 * 86400  # 24x7: a business day is a day
    acme = contracts.for_organization("acme")
    assert acme.target_s("P3", "resolution") == 2 * 9.5 * 3600  # 08:30-18:00
