"""Calendar periods (month, quarter, year) as dates and as aware datetime windows."""

from datetime import date, datetime, time, timedelta

from django.db import models
from django.utils import timezone


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


_MONTHS = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}


def period_start(kind: str, on: date) -> date:
    """The first day of the `kind` period that contains `on`."""
    if kind == PeriodKind.MONTH:
        return on.replace(day=1)
    if kind == PeriodKind.QUARTER:
        return date(on.year, 3 * ((on.month - 1) // 3) + 1, 1)
    if kind == PeriodKind.YEAR:
        return date(on.year, 1, 1)
    raise ValueError(f"unknown period kind {kind!r}")


def add_periods(kind: str, start: date, n: int) -> date:
    """The start of the period `n` periods after (or before, n < 0) the one starting `start`."""
    months = start.year * 12 + (start.month - 1) + n * _MONTHS[PeriodKind(kind)]
    return date(months // 12, months % 12 + 1, 1)


def period_end(kind: str, start: date) -> date:
    """The last day (inclusive) of the period starting `start`."""
    return add_periods(kind, start, 1) - timedelta(days=1)


def period_label(kind: str, start: date) -> str:
    if kind == PeriodKind.MONTH:
        return start.strftime("%B %Y")
    if kind == PeriodKind.QUARTER:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return str(start.year)


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the site's time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def window(kind: str, start: date, periods: int = 1) -> tuple[datetime, datetime]:
    """[from, to) of `periods` consecutive periods beginning at `start`."""
    return day_start(start), day_start(add_periods(kind, start, periods))


def weekdays_between(first: date, last_exclusive: date) -> int:
    """Monday-Friday days in [first, last_exclusive)."""
    days = (last_exclusive - first).days
    if days <= 0:
        return 0
    full_weeks, rest = divmod(days, 7)
    count = full_weeks * 5
    for offset in range(rest):
        if (first + timedelta(days=full_weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count
