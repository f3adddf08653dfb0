"""Which database a benchmark measures: a scratch SQLite file, or the PostgreSQL database
BENCH_DATABASE_URL names (empty; `python -m bench.storage` makes one per benchmark)."""

from __future__ import annotations

import os
from pathlib import Path

from bot.db.url import PostgresTarget, SqliteTarget, parse_database_url


def bench_target(folder: Path, name: str) -> SqliteTarget | PostgresTarget:
    url = os.environ.get("BENCH_DATABASE_URL")
    return parse_database_url(url) if url else SqliteTarget(folder / name)  # type: ignore[return-value]


def bot_env() -> dict[str, str]:
    """What the bot process needs in its environment to use that database."""
    url = os.environ.get("BENCH_DATABASE_URL")
    return {"DATABASE_URL": url} if url else {}


def engine_name() -> str:
    return "postgres" if os.environ.get("BENCH_DATABASE_URL") else "sqlite"
