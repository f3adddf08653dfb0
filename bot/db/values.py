"""How Python values are stored, the same way on both engines.

- `bool` -> 1 and 0 in a column (boolean columns are INTEGER on SQLite and BIGINT on
  PostgreSQL, with a CHECK where the schema has one, so `SUM(correct)` works on both), and
  a boolean where the SQL itself wants one (`... OR ?`); both drivers do this with a bool;
- `datetime` -> UTC text `YYYY-MM-DD HH:MM:SS` (`bot.clock.to_db_time`), `date` -> ISO text;
- `bytes`, `bytearray`, `memoryview` -> a blob (BLOB / BYTEA);
- JSON is text the service serialised itself, stored and returned as written;
- `int`, `float`, `str` and None as they are (str and int enums by value).

Anything else is refused, so a value no engine can store fails the same way on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.clock import to_db_time

PLAIN = (int, str, float, bool, type(None))


def to_db(value: Any) -> Any:
    """One parameter as the engine receives it."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value
    if isinstance(value, datetime):
        return to_db_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"A {type(value).__name__} cannot be stored: convert it in the service.")


def params_to_db(params: Sequence[Any]) -> list[Any]:
    """Every parameter of a statement; plain ones pass untouched (the common, fast case)."""
    return [value if type(value) in PLAIN else to_db(value) for value in params]
