"""Where every "now" comes from, so tests and the playground can pin time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests and the playground."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = when.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta's keyword arguments (days=1, hours=3, ...)."""
        self._now += timedelta(**delta)
        return self._now


DB_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def to_db_time(when: datetime) -> str:
    """UTC text in SQLite's own `datetime()` format, so SQL can compare and do arithmetic."""
    if when.tzinfo is None:
        raise ValueError("to_db_time needs a timezone-aware datetime")
    return when.astimezone(UTC).strftime(DB_TIME_FORMAT)


def from_db_time(text: str) -> datetime:
    return datetime.strptime(text, DB_TIME_FORMAT).replace(tzinfo=UTC)
