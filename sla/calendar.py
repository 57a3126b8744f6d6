"""Business time: SLA clocks run only inside a team's working hours, in its time zone, and
stop on its holidays. Pure functions over a `Calendar`; no database, no clock."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

MAX_DAYS = 3660  # ten years without a working minute means the calendar is broken


@dataclass(frozen=True)
class Calendar:
    timezone: str = "UTC"
    # ISO weekday (1 = Monday) -> list of (start, end) local times.
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holiday_country: str = ""
    holiday_subdivision: str = ""
    extra_holidays: frozenset[date] = frozenset()

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _country_holidays(self):
        if not self.holiday_country:
            return {}
        return holidays.country_holidays(
            self.holiday_country, subdiv=self.holiday_subdivision or None
        )

    def is_holiday(self, day: date) -> bool:
        return day in self.extra_holidays or day in self._country_holidays

    def holiday_name(self, day: date) -> str:
        if day in self.extra_holidays:
            return "Company holiday"
        return self._country_holidays.get(day, "") if self.holiday_country else ""

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """Working intervals of one local day, as aware datetimes."""
        if self.is_holiday(day):
            return []
        out = []
        for start, end in self.hours.get(day.isoweekday(), ()):
            out.append(
                (
                    datetime.combine(day, start, tzinfo=self.tz),
                    datetime.combine(day, end, tzinfo=self.tz),
                )
            )
        return out

    def intervals_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals from `moment` on, clipped at it."""
        day = moment.astimezone(self.tz).date()
        for offset in range(MAX_DAYS):
            for start, end in self.intervals_on(day + timedelta(days=offset)):
                if end <= moment:
                    continue
                yield max(start, moment), end
        raise ValueError("The calendar has no working time; give it weekly hours.")


STANDARD_HOURS = {d: ((time(9), time(17)),) for d in range(1, 6)}


def add_business_minutes(start: datetime, minutes: float, calendar: Calendar) -> datetime:
    """The moment `minutes` of working time after `start` (which may be outside hours)."""
    remaining = timedelta(minutes=minutes)
    if remaining <= timedelta(0):
        return start
    for begin, end in calendar.intervals_from(start):
        span = end - begin
        if remaining <= span:
            return begin + remaining
        remaining -= span
    raise AssertionError("unreachable")  # pragma: no cover


def business_minutes_between(start: datetime, end: datetime, calendar: Calendar) -> float:
    """Working minutes in [start, end); 0 when end is not after start."""
    if end <= start:
        return 0.0
    total = timedelta(0)
    for begin, finish in calendar.intervals_from(start):
        if begin >= end:
            break
        total += min(finish, end) - begin
    return total.total_seconds() / 60


def next_working_moment(moment: datetime, calendar: Calendar) -> datetime:
    """`moment` if inside working hours, else when work next starts."""
    return next(calendar.intervals_from(moment))[0]
