"""Rows to dataclasses: the one way a service turns what a query returned into its own type.

`from_row(Weekly, row)` fills each field of the dataclass from the column of the same name,
converted by the field's declared type, the reverse of `bot.db.values`:

- `datetime` <- database time text (`bot.clock.from_db_time`), `date` <- ISO text;
- an `Enum` <- its value; `bool` <- 0 or 1; `float` <- any number (PostgreSQL's numeric);
- anything else as the driver returned it; None stays None for an optional field.

A field the row does not hold under its name (a nested record, a computed value, a column
that goes by another name) is given by the caller as a keyword: `from_row(Review, row,
scores=...)`. A field with a default may be missing from the row.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from bot.clock import from_db_time
from bot.db.base import Row

T = TypeVar("T")

Converter = Callable[[Any], Any] | None

_MISSING = dataclasses.MISSING


def from_row(cls: type[T], row: Row | dict[str, Any], **given: Any) -> T:
    """An instance of the dataclass `cls` from `row`, with `given` fields taken as they are."""
    values = row if isinstance(row, dict) else dict(zip(row.keys(), row, strict=True))
    for name, convert, required in _plan(cls):
        if name in given:
            continue
        value = values.get(name, _MISSING)
        if value is _MISSING:
            if required:
                raise KeyError(f"{cls.__name__}.{name}: the query returned no column {name!r}")
            continue
        given[name] = value if convert is None or value is None else convert(value)
    return cls(**given)


@cache
def _plan(cls: type) -> tuple[tuple[str, Converter, bool], ...]:
    """Each init field's name, its converter and whether the row must hold it; once a class."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (
            field.name,
            _converter(hints[field.name]),
            field.default is _MISSING and field.default_factory is _MISSING,
        )
        for field in dataclasses.fields(cls)
        if field.init
    )


def _converter(hint: Any) -> Converter:
    hint = _without_none(hint)
    if hint is datetime:
        return from_db_time
    if hint is date:
        return date.fromisoformat
    if hint is bool:
        return bool
    if hint is float:
        return float
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    return None


def _without_none(hint: Any) -> Any:
    """`X | None` (or Optional[X]) as X; any other hint unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return hint
