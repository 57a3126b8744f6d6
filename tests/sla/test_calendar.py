"""Business time across weekends, holidays and time zones."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from sla.calendar import (
    STANDARD_HOURS,
    Calendar,
    add_business_minutes,
    business_minutes_between,
    next_working_moment,
)

BERLIN = Calendar(timezone="Europe/Berlin", hours=STANDARD_HOURS, holiday_country="DE")
NEW_YORK = Calendar(timezone="America/New_York", hours=STANDARD_HOURS, holiday_country="US")


def local(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def test_minutes_inside_one_working_day():
    start = local("Europe/Berlin", 2026, 12, 1, 10, 0)
    assert add_business_minutes(start, 5, BERLIN) == local("Europe/Berlin", 2026, 12, 1, 10, 5)


def test_the_clock_waits_over_christmas_and_the_weekend_in_berlin():
    # Thu 24 Dec 16:58; Fri 25 and Sat 26 are holidays, then Sunday: Monday 09:03.
    start = local("Europe/Berlin", 2026, 12, 24, 16, 58)
    assert add_business_minutes(start, 5, BERLIN) == local("Europe/Berlin", 2026, 12, 28, 9, 3)


def test_thanksgiving_in_new_york():
    start = local("America/New_York", 2026, 11, 25, 16, 59)
    assert add_business_minutes(start, 60, NEW_YORK) == local(
        "America/New_York", 2026, 11, 27, 9, 59
    )


def test_the_same_instant_runs_on_each_teams_own_clock():
    # 15:00 UTC on Friday 4 Dec is 16:00 in Berlin and 10:00 in New York.
    start = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    assert add_business_minutes(start, 90, BERLIN) == local("Europe/Berlin", 2026, 12, 7, 9, 30)
    assert add_business_minutes(start, 90, NEW_YORK) == local(
        "America/New_York", 2026, 12, 4, 11, 30
    )


def test_a_start_outside_hours_begins_at_the_next_opening():
    saturday = local("Europe/Berlin", 2026, 12, 5, 11, 0)
    assert next_working_moment(saturday, BERLIN) == local("Europe/Berlin", 2026, 12, 7, 9, 0)
    assert add_business_minutes(saturday, 1, BERLIN) == local("Europe/Berlin", 2026, 12, 7, 9, 1)


def test_minutes_between_count_only_working_time():
    start = local("Europe/Berlin", 2026, 12, 4, 16, 0)  # Friday
    end = local("Europe/Berlin", 2026, 12, 7, 10, 0)  # Monday
    assert business_minutes_between(start, end, BERLIN) == 120
    assert business_minutes_between(end, start, BERLIN) == 0


def test_split_shifts_and_company_holidays():
    cal = Calendar(
        timezone="UTC",
        hours={1: ((time(8), time(12)), (time(13), time(17)))},
        extra_holidays=frozenset({date(2026, 12, 7)}),
    )
    monday = datetime(2026, 11, 30, 11, 50, tzinfo=UTC)
    assert add_business_minutes(monday, 20, cal) == datetime(2026, 11, 30, 13, 10, tzinfo=UTC)
    # The next Monday is a company holiday: the one after.
    late = datetime(2026, 11, 30, 16, 50, tzinfo=UTC)
    assert add_business_minutes(late, 20, cal) == datetime(2026, 12, 14, 8, 10, tzinfo=UTC)
    assert cal.holiday_name(date(2026, 12, 7)) == "Company holiday"


def test_daylight_saving_change_keeps_local_hours():
    # Clocks go back in New York on 1 Nov 2026; Friday 30 Oct 16:30 + 60 min -> Mon 09:30.
    start = local("America/New_York", 2026, 10, 30, 16, 30)
    due = add_business_minutes(start, 60, NEW_YORK)
    assert due == local("America/New_York", 2026, 11, 2, 9, 30)
    assert due.utcoffset().total_seconds() == -5 * 3600


def test_a_calendar_without_hours_is_an_error():
    with pytest.raises(ValueError, match="no working time"):
        add_business_minutes(datetime(2026, 1, 1, tzinfo=UTC), 5, Calendar())
