"""Local days, months and member-typed date-times in a server's time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.errors import DomainError
from bot.timezones import local_midnight

LOCAL_DATETIME = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})\s*$")


def local_now(now: datetime, zone: ZoneInfo) -> datetime:
    return now.astimezone(zone)


def week_start(now: datetime, zone: ZoneInfo) -> datetime:
    today = now.astimezone(zone).date()
    return local_midnight(today - timedelta(days=today.weekday()), zone)


def month_start(now: datetime, zone: ZoneInfo) -> datetime:
    return local_midnight(now.astimezone(zone).date().replace(day=1), zone)


def previous_month(now: datetime, zone: ZoneInfo) -> str:
    first = now.astimezone(zone).date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC [start, end) of a 'YYYY-MM' month in `zone`."""
    first = datetime.strptime(month, "%Y-%m").date()
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return local_midnight(first, zone), local_midnight(following, zone)


def parse_local_datetime(text: str, zone: ZoneInfo, what: str) -> datetime:
    """'YYYY-MM-DD HH:MM' in the server's zone, as a UTC instant, or a member-facing error."""
    match = LOCAL_DATETIME.match(text or "")
    if match is None:
        shown = (text or "").strip()[:30]
        raise DomainError(
            f"The {what} '{shown}' is not a date and time: use YYYY-MM-DD HH:MM, "
            f"like 2026-03-15 18:00 ({zone.key})."
        )
    year, month, day, hour, minute = (int(g) for g in match.groups())
    try:
        naive = datetime(year, month, day, hour, minute)
    except ValueError:
        raise DomainError(
            f"The {what} '{text.strip()[:30]}' is not a real date and time."
        ) from None
    return naive.replace(tzinfo=zone).astimezone(UTC)


def format_local(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M") + f" ({zone.key})"
