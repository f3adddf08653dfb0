"""Choosing and reaching the database: DATABASE_URL, the refusals an operator can meet (one
line, exit status 2, no traceback), placeholders, and a PostgreSQL connection that drops
while the bot runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from bot.config import Settings
from bot.db import Database, DatabaseUnavailable, connect
from bot.db.postgres import PostgresDatabase, translate
from bot.db.url import PostgresTarget, SqliteTarget
from bot.errors import StartupError
from bot.ui.errors import describe
from bot.wiring import Services
from tests.conftest import ON_POSTGRES

ROOT = Path(__file__).resolve().parent.parent
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="runs with TEST_DATABASE=postgres")


def check(tmp_path: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "LLM_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=database_url)
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def test_the_engine_follows_database_url(tmp_path: Path) -> None:
    assert Settings(_env_file=None).database_target == SqliteTarget(Path("data/mentor.db"))
    alias = Settings(_env_file=None, database_path=tmp_path / "a.db")
    assert alias.database_target == SqliteTarget(tmp_path / "a.db")
    url = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/b.db")
    assert url.database_target == SqliteTarget(tmp_path / "b.db")
    assert url.database_path == tmp_path / "b.db"  # backups and the run lock follow it
    pg = Settings(_env_file=None, database_url="postgresql://u:secret@db.example:5433/mentor")
    assert isinstance(pg.database_target, PostgresTarget)
    assert pg.database_target.shown == "postgresql://u@db.example:5433/mentor"
    assert "secret" in pg.secret_values()  # redacted from the logs


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://u:p@h/db", "unknown engine 'mysql'"),
        ("data/mentor.db", "expected a URL like"),
        ("postgresql://u:p@h:notaport/db", "Port could not be cast"),
        ("postgresql://u:p@h:5432", "name the database"),
        ("sqlite://", "a SQLite URL is"),
    ],
)
def test_a_malformed_database_url_is_one_line(tmp_path: Path, url: str, reason: str) -> None:
    line = one_line_error(check(tmp_path, url))
    assert "DATABASE_URL" in line and reason in line


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(check(tmp_path, "postgresql://mentor:pw@127.0.0.1:1/mentor"))
    assert line.startswith("error: Cannot reach PostgreSQL at postgresql://mentor@127.0.0.1:1/")
    assert "pw" not in line


@needs_postgres
def test_a_wrong_password_is_one_line(tmp_path: Path, database_url: str) -> None:
    line = one_line_error(check(tmp_path, with_password(database_url, "wrong-password")))
    assert "refused the user name or password" in line and "wrong-password" not in line


@needs_postgres
async def test_another_applications_database_is_one_line(
    tmp_path: Path, empty_database_url: str
) -> None:
    conn = await asyncpg.connect(empty_database_url)
    try:
        await conn.execute("CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric)")
    finally:
        await conn.close()
    line = one_line_error(check(tmp_path, empty_database_url))
    assert "another application's tables (invoices" in line


@needs_postgres
async def test_a_server_older_than_supported_is_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = asyncpg.connect(database_url)
    conn = await running
    version = conn.get_server_version().major
    await conn.close()
    monkeypatch.setattr("bot.db.postgres.MIN_SERVER_VERSION", (version + 1) * 10000)
    monkeypatch.setattr("bot.db.postgres.MIN_SERVER_NAME", str(version + 1))
    with pytest.raises(StartupError, match=f"is version {version}; Mentor needs {version + 1}"):
        await PostgresDatabase.open(PostgresTarget(database_url))


def test_placeholders_are_translated_outside_quotes_and_comments() -> None:
    sql = "SELECT '?', \"a?\" FROM t -- what?\nWHERE a = ? AND b = 'it''s ?' AND c = ? /* ? */"
    assert translate(sql) == (
        "SELECT '?', \"a?\" FROM t -- what?\nWHERE a = $1 AND b = 'it''s ?' AND c = $2 /* ? */"
    )


@needs_postgres
async def test_a_dropped_connection_says_try_again_and_the_pool_reconnects(
    services: Services, database_url: str
) -> None:
    await services.roadmap.members.start(1, 2, "ai_engineer")
    admin = await asyncpg.connect(database_url)

    async def drop_every_connection_soon() -> None:
        await asyncio.sleep(0.3)
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            urlsplit(database_url).path.strip("/"),
        )

    try:
        dropping = asyncio.create_task(drop_every_connection_soon())
        with pytest.raises(DatabaseUnavailable) as caught:
            await services.db.fetch_value("SELECT pg_sleep(5)")  # in flight when it drops
        await dropping
    finally:
        await admin.close()
    assert (
        describe(caught.value)
        == "The database is busy or out of reach for a moment: try again shortly."
    )
    # Nothing acknowledged was lost, and the next command works on a new connection.
    view = await services.roadmap.members.view(1, 2)
    assert view.track.key == "ai_engineer"


async def test_connecting_to_nothing_is_a_startup_error() -> None:
    with pytest.raises(StartupError, match="Cannot reach PostgreSQL"):
        await connect(PostgresTarget("postgresql://mentor:pw@127.0.0.1:1/gone"), pool_size=1)


async def test_a_transaction_that_locks_first_holds_the_lock_and_rolls_back_whole(
    db: Database,
) -> None:
    """On PostgreSQL BEGIN travels with the locks: they must still last the transaction."""
    insert = "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, '2026-03-02 10:00')"
    order: list[str] = []
    first_has_lock = asyncio.Event()

    async def first() -> None:
        async with db.transaction() as tx:
            await tx.lock_all([("test-key", 1), ("test-key", 2)])
            await tx.execute(insert, ("first", "1"))
            first_has_lock.set()
            await asyncio.sleep(0.2)
            order.append("first")
            raise RuntimeError("the block fails after its write")

    async def second() -> None:
        await first_has_lock.wait()
        async with db.transaction() as tx:
            await tx.lock("test-key", 2)
            order.append("second")
            await tx.execute(insert, ("second", "2"))

    results = await asyncio.gather(first(), second(), return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] is None
    assert order == ["first", "second"]  # the second waited for the first's lock
    assert [r[0] for r in await db.fetch_all("SELECT key FROM bot_state")] == ["second"]
