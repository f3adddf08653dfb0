"""Migrations: a fresh database, an upgrade from every earlier version, and refusals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.db import Database, Migration, load_migrations, open_database
from bot.errors import StartupError
from bot.services.roadmap.roles import RoleService
from bot.services.scheduled_posts import ScheduledPosts


def schema_of(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
    return set(rows)


def test_migration_files_are_numbered_in_order_and_say_why() -> None:
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    assert versions == sorted(set(versions))
    for migration in migrations:
        assert migration.sql.startswith("-- "), f"{migration.filename} needs a reason line"


async def test_fresh_database_gets_every_migration(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "fresh.db")
    applied = await db.applied_migrations()
    assert sorted(applied) == [m.version for m in load_migrations()]
    assert await db.run_transaction(lambda conn: conn.execute("PRAGMA foreign_keys").fetchone()[0])
    assert await db.fetch_value("PRAGMA journal_mode") == "wal"
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await db.fetch_value("INSERT INTO bot_state (key, value) VALUES ('k', 'v') RETURNING 1")
    await db.close()


@pytest.mark.parametrize("stop_at", range(len(load_migrations())))
async def test_upgrade_from_every_earlier_version_matches_fresh(
    tmp_path: Path, stop_at: int
) -> None:
    migrations = load_migrations()
    fresh = await open_database(tmp_path / "fresh.db")
    await fresh.close()

    old = await Database.open(tmp_path / "old.db")
    await old.migrate(migrations[:stop_at])
    assert len(await old.applied_migrations()) == stop_at
    applied_now = await old.migrate()
    assert [m.version for m in applied_now] == [m.version for m in migrations[stop_at:]]
    await old.close()
    assert schema_of(tmp_path / "old.db") == schema_of(tmp_path / "fresh.db")


async def test_migrating_twice_applies_nothing(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "x.db")
    assert await db.migrate() == []
    await db.close()


async def test_edited_migration_is_refused(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "x.db")
    first = load_migrations()[0]
    edited = [Migration(first.version, first.name, first.sql + "\n-- edited")]
    with pytest.raises(StartupError, match="was edited after it was applied"):
        await db.migrate(edited + load_migrations()[1:])
    await db.close()


async def test_database_newer_than_code_is_refused(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "x.db")
    future = Migration(load_migrations()[-1].version + 1, "future", "-- from the future\nSELECT 1;")
    await db.migrate([*load_migrations(), future])
    with pytest.raises(StartupError, match="newer than this code"):
        await db.migrate()
    await db.close()


async def test_migration_numbered_below_an_applied_one_is_refused(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "x.db")
    latest = load_migrations()[-1].version
    late = Migration(latest + 2, "late", "-- applied first\nSELECT 1;")
    await db.migrate([*load_migrations(), late])
    early = Migration(latest + 1, "early", "-- added later with a lower number\nSELECT 1;")
    with pytest.raises(StartupError, match="numbered below one already applied"):
        await db.migrate([*load_migrations(), early, late])
    await db.close()


async def test_failing_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "x.db")
    broken = Migration(
        load_migrations()[-1].version + 1,
        "broken",
        "-- broken on purpose\nCREATE TABLE half (id INTEGER);\nINSERT INTO nowhere VALUES (1);",
    )
    with pytest.raises(StartupError, match="nothing of it was applied"):
        await db.migrate([*load_migrations(), broken])
    assert await db.fetch_value("SELECT count(*) FROM sqlite_master WHERE name = 'half'") == 0
    assert broken.version not in await db.applied_migrations()
    await db.close()


async def test_file_that_is_not_sqlite_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is a text file, not a database" * 100)
    with pytest.raises(StartupError, match="not a usable SQLite database"):
        await open_database(path)


async def test_unwritable_database_location_is_refused_clearly(tmp_path: Path) -> None:
    # Root ignores folder permissions, so a path below a plain file stands in for a
    # read-only folder: the folder cannot be created either way.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StartupError, match="DATABASE_PATH"):
        await open_database(blocker / "mentor.db")


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO guild_settings (guild_id, updated_at) VALUES (1, 'x')")
            raise RuntimeError("boom")
    assert await db.fetch_value("SELECT count(*) FROM guild_settings") == 0


async def test_role_notices_sent_before_the_delivery_migration_are_not_sent_again(
    tmp_path: Path, clock: FixedClock
) -> None:
    """0012 routes role notices through the delivery helper; those the old code already
    sent are recorded as sent, so the upgrade does not tell the moderators twice."""
    db = await Database.open(tmp_path / "old.db")
    await db.migrate([m for m in load_migrations() if m.version < 12])
    await db.execute(
        "INSERT INTO roadmap_roles (guild_id, kind, level, role_id, broken_at, suspended_at)"
        " VALUES (1, 'phase', 1, 5, '2026-03-01 10:00:00', NULL),"
        " (1, 'phase', 2, 5, '2026-03-01 10:00:00', NULL),"
        " (1, 'streak', 7, 6, NULL, '2026-03-01 11:00:00')"
    )
    await db.migrate()
    roles = RoleService(db, clock, ScheduledPosts(db, clock))
    assert await roles.notices_due() == []
    # Stopped again after being mapped anew: a new notice.
    await db.execute("UPDATE roadmap_roles SET broken_at = '2026-03-02 09:00:00' WHERE role_id = 5")
    assert [(n.role_id, n.why) for n in await roles.notices_due()] == [(5, "refused")]
    await db.close()
