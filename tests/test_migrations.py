"""Migrations on the engine under test: a fresh database, an upgrade from every earlier
version, refusals; and the two engines' migrations ending in the same schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.db import Database, Migration, connect, load_migrations, open_database
from bot.db.migrations import ENGINES
from bot.db.url import PostgresTarget, SqliteTarget
from bot.errors import StartupError
from bot.services.roadmap.member_state import RoleMaps
from bot.services.roadmap.roles import RoleService
from bot.services.scheduled_posts import ScheduledPosts
from tests.conftest import ON_POSTGRES
from tests.schema import describe

# What only one engine has: SQLite's FTS5 index is a virtual table (and its shadow tables);
# PostgreSQL keeps the same index as a tsvector column of qa_chunks with a GIN index.
POSTGRES_ONLY_COLUMNS = {("qa_chunks", "search")}
POSTGRES_ONLY_INDEXES = {("qa_chunks", "qa_chunks_search")}


def engine_migrations() -> list[Migration]:
    return load_migrations("postgres" if ON_POSTGRES else "sqlite")


@pytest.fixture
async def empty(tmp_path: Path, empty_database_url: str | None) -> AsyncIterator[Database]:
    """An empty database of the engine under test, not migrated."""
    target = (
        PostgresTarget(empty_database_url)
        if empty_database_url
        else SqliteTarget(tmp_path / "empty.db")
    )
    db = await connect(target)
    yield db
    await db.close()


def test_migration_files_are_numbered_in_order_and_say_why() -> None:
    for engine in ENGINES:
        migrations = load_migrations(engine)
        versions = [m.version for m in migrations]
        assert versions == sorted(set(versions))
        for migration in migrations:
            assert migration.sql.startswith("-- "), f"{migration.filename} needs a reason line"


def test_both_engines_have_the_same_migrations() -> None:
    sqlite, postgres = (load_migrations(engine) for engine in ENGINES)
    assert [m.filename for m in sqlite] == [m.filename for m in postgres]


# What SQLite databases made before the engines split recorded: the files keep these bytes,
# so those databases open and upgrade in place.
RECORDED_SQLITE_CHECKSUMS = {
    1: "35c7712d58b7f7e2e03a3fa1485655989ab8b9a0c1e46a53d38c7435ab47346d",
    2: "72630f3e98b5d5b9acbf3b3e58b2ac338b71d95ff388fc1c8a74f5f6958413c4",
    3: "7800af11a37ee98a99c2295c4050cb2bfbd20b11157cd2e3e204424ef53c2f12",
    4: "06d6dc99e29a88c051c51e759fa5f1bf1c04923bdf3ab41237798997538daf14",
    5: "bdfaa31d1a113eb8403e1874c25c877a7f33e4792036f880f15455942c8550bd",
    6: "1e85eba97c7d794f30e30bf2a14e57bc5a9889872ff362825277760faf412dd5",
    7: "aa9865f386188480acc7b2c7c6f79053a2199edeb841e733eb2585373a6c6f35",
}


def test_existing_sqlite_files_keep_their_checksums() -> None:
    current = {m.version: m.checksum for m in load_migrations("sqlite")}
    assert {v: current[v] for v in RECORDED_SQLITE_CHECKSUMS} == RECORDED_SQLITE_CHECKSUMS


async def test_fresh_database_gets_every_migration(db: Database) -> None:
    applied = await db.applied_migrations()
    assert sorted(applied) == [m.version for m in engine_migrations()]
    assert applied == {m.version: m.checksum for m in engine_migrations()}


async def test_sqlite_settings_are_in_force(sqlite_only: None, db: Database) -> None:
    assert await db.fetch_value("PRAGMA journal_mode") == "wal"
    async with db.transaction() as tx:
        assert await tx.fetch_value("PRAGMA foreign_keys") == 1


@pytest.mark.parametrize("stop_at", range(len(engine_migrations())))
async def test_upgrade_from_every_earlier_version_matches_fresh(
    db: Database, empty: Database, stop_at: int
) -> None:
    migrations = engine_migrations()
    await empty.migrate(migrations[:stop_at])
    assert len(await empty.applied_migrations()) == stop_at
    applied_now = await empty.migrate()
    assert [m.version for m in applied_now] == [m.version for m in migrations[stop_at:]]
    assert await describe(empty) == await describe(db)


async def test_migrating_twice_applies_nothing(db: Database) -> None:
    assert await db.migrate() == []


async def test_edited_migration_is_refused(db: Database) -> None:
    first, *rest = engine_migrations()
    edited = [Migration(first.version, first.name, first.sql + "\n-- edited")]
    with pytest.raises(StartupError, match="was edited after it was applied"):
        await db.migrate(edited + rest)


async def test_database_newer_than_code_is_refused(db: Database) -> None:
    future = Migration(engine_migrations()[-1].version + 1, "future", "-- future\nSELECT 1;")
    await db.migrate([*engine_migrations(), future])
    with pytest.raises(StartupError, match="newer than this code"):
        await db.migrate()


async def test_migration_numbered_below_an_applied_one_is_refused(db: Database) -> None:
    latest = engine_migrations()[-1].version
    late = Migration(latest + 2, "late", "-- applied first\nSELECT 1;")
    await db.migrate([*engine_migrations(), late])
    early = Migration(latest + 1, "early", "-- added later with a lower number\nSELECT 1;")
    with pytest.raises(StartupError, match="numbered below one already applied"):
        await db.migrate([*engine_migrations(), early, late])


async def test_failing_migration_leaves_nothing_half_applied(db: Database) -> None:
    broken = Migration(
        engine_migrations()[-1].version + 1,
        "broken",
        "-- broken on purpose\nCREATE TABLE half (id INTEGER);\nINSERT INTO nowhere VALUES (1);",
    )
    with pytest.raises(StartupError, match="nothing of it was applied"):
        await db.migrate([*engine_migrations(), broken])
    assert "half" not in await describe(db)
    assert broken.version not in await db.applied_migrations()


async def test_another_applications_database_is_refused(empty: Database) -> None:
    await empty.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)")
    with pytest.raises(StartupError, match="another application's tables"):
        await empty.migrate()


async def test_another_applications_migration_table_is_refused(empty: Database) -> None:
    await empty.execute("CREATE TABLE schema_migrations (version INTEGER, dirty INTEGER)")
    with pytest.raises(StartupError, match="another application's tables"):
        await empty.migrate()


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
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO guild_settings (guild_id, updated_at) VALUES (1, 'x')")
            raise RuntimeError("boom")
    assert await db.fetch_value("SELECT count(*) FROM guild_settings") == 0


async def test_both_engines_end_with_the_same_schema(tmp_path: Path, db: Database) -> None:
    """Tables, columns (types mapped), keys, foreign keys, indexes and checks."""
    if not ON_POSTGRES:
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL run (TEST_DATABASE=postgres)")
    sqlite = await open_database(tmp_path / "twin.db")
    try:
        lite, post = await describe(sqlite), await describe(db)
    finally:
        await sqlite.close()
    assert sorted(lite) == sorted(post)
    for name in lite:
        a, b = lite[name], post[name]
        only_pg = {c for t, c in POSTGRES_ONLY_COLUMNS if t == name}
        assert a.columns == {c: v for c, v in b.columns.items() if c not in only_pg}, name
        assert a.unique == b.unique, name
        assert a.foreign_keys == b.foreign_keys, name
        only_pg_indexes = {i for t, i in POSTGRES_ONLY_INDEXES if t == name}
        assert a.indexes == {i for i in b.indexes if i[0] not in only_pg_indexes}, name
        assert a.checks == b.checks, name


async def test_role_notices_sent_before_the_delivery_migration_are_not_sent_again(
    empty: Database, clock: FixedClock
) -> None:
    """0012 routes role notices through the delivery helper; those the old code already
    sent are recorded as sent, so the upgrade does not tell the moderators twice."""
    db = empty
    await db.migrate([m for m in engine_migrations() if m.version < 12])
    await db.execute(
        "INSERT INTO roadmap_roles (guild_id, kind, level, role_id, broken_at, suspended_at)"
        " VALUES (1, 'phase', 1, 5, '2026-03-01 10:00:00', NULL),"
        " (1, 'phase', 2, 5, '2026-03-01 10:00:00', NULL),"
        " (1, 'streak', 7, 6, NULL, '2026-03-01 11:00:00')"
    )
    await db.migrate()
    roles = RoleService(db, clock, ScheduledPosts(db, clock), RoleMaps())
    assert await roles.notices_due() == []
    # Stopped again after being mapped anew: a new notice.
    await db.execute("UPDATE roadmap_roles SET broken_at = '2026-03-02 09:00:00' WHERE role_id = 5")
    assert [(n.role_id, n.why) for n in await roles.notices_due()] == [(5, "refused")]
