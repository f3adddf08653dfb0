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


def to_db_time(when: datetime) -> str:
    """The one conversion to database time: UTC text `YYYY-MM-DD HH:MM:SS` on both engines.

    Text in this fixed format sorts in time order, so SQL compares instants as text the same
    way on SQLite and PostgreSQL, and a copy between engines moves the value unchanged.
    """
    if when.tzinfo is None:
        raise ValueError("to_db_time needs a timezone-aware datetime")
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def from_db_time(text: str) -> datetime:
    """The one conversion back: database time text to an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
