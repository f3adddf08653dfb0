"""IANA time zone names, local times of day and local midnights, with `zoneinfo` (+ `tzdata`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import DomainError

TIME_OF_DAY = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


@cache
def all_timezones() -> tuple[str, ...]:
    """Every canonical-looking IANA name, sorted (no 'posix/' or 'right/' copies)."""
    names = {n for n in available_timezones() if not n.startswith(("posix", "right", "SystemV"))}
    return tuple(sorted(names))


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day begins (zoneinfo resolves a skipped midnight forward)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def parse_timezone(name: str) -> ZoneInfo:
    """The zone for an IANA name such as 'Europe/Berlin', or a member-facing error."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or cleaned not in all_timezones():
        raise DomainError(
            f"'{cleaned[:64]}' is not a time zone I know. Use an IANA name such as "
            "Europe/Berlin, America/New_York or Asia/Kolkata (the list autocompletes)."
        )
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(f"'{cleaned}' is not a time zone I know.") from None


def search_timezones(text: str, limit: int = 25) -> list[str]:
    """Names matching `text` for autocomplete: name prefixes, then city prefixes, then any part."""
    needle = text.strip().lower().replace(" ", "_")
    names = all_timezones()
    ranked = sorted(
        (n for n in names if needle in n.lower()),
        key=lambda n: (
            not n.lower().startswith(needle),
            not n.lower().rsplit("/", 1)[-1].startswith(needle),
            n,
        ),
    )
    return ranked[:limit]


def parse_time_of_day(text: str) -> time:
    """'HH:MM' in 24-hour form, or a member-facing error ('25:99' is refused)."""
    match = TIME_OF_DAY.match(text or "")
    if match is None:
        shown = (text or "").strip()[:20]
        raise DomainError(f"'{shown}' is not a time: use 24-hour HH:MM, like 09:30.")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise DomainError(f"'{text.strip()}' is not a time of day: hours go to 23, minutes to 59.")
    return time(hour, minute)


def format_time_of_day(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"
