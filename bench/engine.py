"""Which database a benchmark measures: a scratch SQLite file, or the PostgreSQL database
BENCH_DATABASE_URL names (empty; `python -m bench.storage` makes one per benchmark)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.db.url import PostgresTarget, SqliteTarget, parse_database_url
from tests.pgcluster import Cluster, find_binaries


def bench_target(folder: Path, name: str) -> SqliteTarget | PostgresTarget:
    url = os.environ.get("BENCH_DATABASE_URL")
    return parse_database_url(url) if url else SqliteTarget(folder / name)  # type: ignore[return-value]


def bot_env() -> dict[str, str]:
    """What the bot process needs in its environment to use that database."""
    url = os.environ.get("BENCH_DATABASE_URL")
    return {"DATABASE_URL": url} if url else {}


def engine_name() -> str:
    return "postgres" if os.environ.get("BENCH_DATABASE_URL") else "sqlite"


@contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    """The admin URL of the PostgreSQL a benchmark measures: `url` (a server of yours), or a
    throwaway cluster started with the machine's binaries and PostgreSQL's default
    durability, stopped afterwards. Without binaries: one line and exit status 2."""
    if url is not None:
        yield url
        return
    binaries = find_binaries()
    if binaries is None:
        print("error: no PostgreSQL binaries: pass --postgres URL", file=sys.stderr)
        raise SystemExit(2)
    cluster = Cluster(binaries, durable=True)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
