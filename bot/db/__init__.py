"""Storage: one async API (`bot.db.base`) over SQLite (`bot.db.sqlite`, the default) and
PostgreSQL (`bot.db.postgres`), chosen by DATABASE_URL (`bot.db.url`), with per-engine
migrations (`bot.db.migrations`) and one mapping from rows to dataclasses
(`bot.db.rows`)."""

from __future__ import annotations

from pathlib import Path

from bot.db.base import Database, DatabaseUnavailable, Params, Row, Transaction
from bot.db.migrations import Migration, load_migrations
from bot.db.rows import from_row
from bot.db.url import PostgresTarget, SqliteTarget

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "Migration",
    "Params",
    "Row",
    "Transaction",
    "connect",
    "from_row",
    "load_migrations",
    "open_database",
]


async def connect(
    target: SqliteTarget | PostgresTarget | Path | str,
    *,
    synchronous: str = "normal",
    pool_size: int = 10,
) -> Database:
    """Open a database without migrating it (`check`, tests of migrations, copy-data)."""
    if isinstance(target, PostgresTarget):
        from bot.db.postgres import PostgresDatabase  # asyncpg only when it is used

        return await PostgresDatabase.open(target, pool_size)
    from bot.db.sqlite import SqliteDatabase

    path = target.path if isinstance(target, SqliteTarget) else Path(target)
    return await SqliteDatabase.open(path, synchronous)


async def open_database(
    target: SqliteTarget | PostgresTarget | Path | str,
    synchronous: str = "normal",
    *,
    pool_size: int = 10,
) -> Database:
    """Open and fully migrate the database: what the bot and the CLI use."""
    db = await connect(target, synchronous=synchronous, pool_size=pool_size)
    try:
        await db.migrate()
        await db.check_schema()
    except BaseException:
        await db.close()
        raise
    return db
