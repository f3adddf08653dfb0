"""Is a database's schema exactly what Mentor's migrations produce?

A database file carries its own triggers and views, which SQLite runs as part of ordinary
statements. So a file is trusted only if its schema (every table, index, trigger and view,
with its SQL) equals what the migrations it records produce on an empty database. The
bot checks its own database at every start, and `restore` checks a backup before using it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from functools import lru_cache

SchemaEntry = tuple[str, str, str, str | None]

# Tables SQLite itself may add to any database (ANALYZE statistics), with their own SQL.
SQLITE_OWN_TABLES: frozenset[SchemaEntry] = frozenset(
    {
        ("table", "sqlite_stat1", "sqlite_stat1", "CREATE TABLE sqlite_stat1(tbl,idx,stat)"),
        (
            "table",
            "sqlite_stat4",
            "sqlite_stat4",
            "CREATE TABLE sqlite_stat4(tbl,idx,neq,nlt,ndlt,sample)",
        ),
    }
)
SCHEMA_SQL = "SELECT type, name, tbl_name, sql FROM sqlite_master"


def schema_entries(rows: Iterable[Iterable[object]]) -> frozenset[SchemaEntry]:
    """The rows of `SCHEMA_SQL` as a set."""
    return frozenset(tuple(row) for row in rows)  # type: ignore[misc]


@lru_cache(maxsize=16)
def expected_schema(scripts: tuple[str, ...]) -> frozenset[SchemaEntry]:
    """What running these scripts (the migrations, in order) on an empty database makes."""
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        for script in scripts:
            conn.executescript(script)
        return schema_entries(conn.execute(SCHEMA_SQL))


def schema_difference(found: frozenset[SchemaEntry], expected: frozenset[SchemaEntry]) -> str:
    """'' when `found` is the expected schema; else what differs, in a few words."""
    extra = sorted(found - expected - SQLITE_OWN_TABLES)
    missing = sorted(expected - found)
    if not extra and not missing:
        return ""
    expected_names = {(e[0], e[1]) for e in expected}
    changed = {(e[0], e[1]) for e in extra}
    parts = [
        f"{'a changed' if (kind, name) in expected_names else 'an extra'} {kind} '{name[:60]}'"
        for kind, name, _, _ in extra
    ]
    parts += [f"no {kind} '{name}'" for kind, name, _, _ in missing if (kind, name) not in changed]
    return ", ".join(parts[:3]) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")
