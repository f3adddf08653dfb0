"""Local calendar days, ISO weeks and the period keys the counters are filed under."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
ALL_TIME = "all"


def local_date(when: datetime, zone: ZoneInfo) -> date:
    return when.astimezone(zone).date()


def at_local(day: date, clock_time: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock_time, tzinfo=zone).astimezone(UTC)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_key(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"W{year}-{week:02d}"


def month_key(day: date) -> str:
    return f"M{day.year}-{day.month:02d}"


def period_keys(day: date) -> tuple[str, str, str]:
    """The counters a day's activity is added to: its ISO week, its month, and all time."""
    return week_key(day), month_key(day), ALL_TIME


def add_months(day: date, months: int) -> date:
    """Same day of the month `months` later, clamped to the month's end (Jan 31 + 1 = Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {day}")


def months_between(start: date, end: date) -> int:
    """Whole calendar months from `start` to `end` (negative if `end` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day and add_months(start, months) > end:
        months -= 1
    return months


def parse_date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)
