"""The one mapping from rows to dataclasses (bot.db.rows), on the engine under test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

import pytest

from bot.db import from_row


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Thing:
    id: int
    name: str
    colour: Colour
    seen_at: datetime
    due_on: date | None
    done: bool
    score: float | None
    extra: str = "default"


async def test_a_row_becomes_its_dataclass_with_types_converted(db):
    async with db.transaction() as tx:
        await tx.execute(
            "CREATE TABLE things (id BIGINT, name TEXT, colour TEXT, seen_at TEXT,"
            " due_on TEXT, done BIGINT, score REAL)"
        )
        await tx.execute(
            "INSERT INTO things VALUES (?, ?, ?, ?, ?, ?, ?)",
            (7, "seven", "blue", datetime(2026, 3, 9, 8, 30, tzinfo=UTC), date(2026, 3, 10), 1, 2),
        )
        await tx.execute(
            "INSERT INTO things VALUES (?, ?, ?, ?, ?, ?, ?)",
            (8, "eight", "red", datetime(2026, 3, 9, 8, 31, tzinfo=UTC), None, 0, None),
        )
    rows = await db.fetch_all("SELECT * FROM things ORDER BY id")
    first, second = (from_row(Thing, row) for row in rows)

    assert first == Thing(
        7,
        "seven",
        Colour.BLUE,
        datetime(2026, 3, 9, 8, 30, tzinfo=UTC),
        date(2026, 3, 10),
        True,
        2.0,
    )
    assert first.colour is Colour.BLUE and first.done is True and isinstance(first.score, float)
    assert second.due_on is None and second.done is False and second.score is None
    assert second.extra == "default"


async def test_given_fields_win_and_a_missing_column_is_named(db):
    row = await db.fetch_one(
        "SELECT 1 AS id, 'x' AS name, 'red' AS colour, '2026-03-09 08:30:00' AS seen_at,"
        " NULL AS due_on, 0 AS done"
    )
    thing = from_row(Thing, row, name="given", score=0.5)
    assert thing.name == "given" and thing.score == 0.5

    with pytest.raises(KeyError, match=r"Thing\.score"):
        from_row(Thing, row)
