"""copy-data: a community with data in every table moves to another database and back,
verified table by table; refusals leave both databases as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.db import Database, connect, open_database
from bot.db.copy import copy_data, table_checksum
from bot.db.url import PostgresTarget, SqliteTarget
from bot.errors import StartupError
from bot.wiring import Services
from tests.test_erasure_complete import alice_does_everything


async def fingerprint(db: Database) -> dict[str, tuple[int, str]]:
    """Every table's row count and checksum."""
    return {
        table: await table_checksum(db, table, await db.columns(table))
        for table in await db.tables()
    }


@pytest.fixture
async def source(tmp_path: Path, services: Services, clock: FixedClock) -> Database:
    """The test's database (either engine), with data in almost every table."""
    await alice_does_everything(services, clock)
    return services.db


async def test_every_table_moves_and_comes_back_the_same(
    tmp_path: Path, source: Database, empty_database_url: str | None
) -> None:
    before = await fingerprint(source)
    assert sum(1 for rows, _ in before.values() if rows) >= 20  # most tables hold rows
    # PostgreSQL runs: PostgreSQL -> a SQLite file -> a new PostgreSQL database; SQLite
    # runs: SQLite file to SQLite file.
    target = await connect(SqliteTarget(tmp_path / "copy.db"))
    try:
        copies = await copy_data(source, target)
        assert {c.table: (c.rows, c.checksum) for c in copies} == before
        assert await fingerprint(target) == before
        # New rows continue after the copied ids, and the copy is searchable.
        before_ids = await target.fetch_value("SELECT max(id) FROM roadmap_checkins")
        async with target.transaction() as tx:
            new_id = await tx.fetch_value(
                "INSERT INTO roadmap_checkins (guild_id, user_id, created_at, local_date, "
                "weekly_goal, minutes, did) SELECT guild_id, user_id, created_at, local_date, "
                "weekly_goal, minutes, 'after' FROM roadmap_checkins LIMIT 1 RETURNING id"
            )
        assert new_id > before_ids
        # And back again: the same data.
        again = PostgresTarget(empty_database_url) if empty_database_url else None
        back = await connect(again or SqliteTarget(tmp_path / "back.db"))
        try:
            await target.execute("DELETE FROM roadmap_checkins WHERE id = ?", (new_id,))
            await copy_data(target, back)
            assert await fingerprint(back) == before
        finally:
            await back.close()
    finally:
        await target.close()
    assert await fingerprint(source) == before  # the source was only read


async def test_a_target_with_data_is_refused_and_left_alone(
    tmp_path: Path, source: Database
) -> None:
    target = await open_database(tmp_path / "busy.db")
    try:
        await target.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES ('k', 'v', 'now')"
        )
        with pytest.raises(StartupError, match="not empty"):
            await copy_data(source, target)
        assert await target.fetch_value("SELECT count(*) FROM bot_state") == 1
        assert await target.fetch_value("SELECT count(*) FROM roadmap_members") == 0
    finally:
        await target.close()


async def test_a_target_at_another_schema_version_is_refused(
    tmp_path: Path, source: Database
) -> None:
    target = await connect(tmp_path / "old.db")
    try:
        await target.migrate(target.migrations()[:3])
        with pytest.raises(StartupError, match="another schema version"):
            await copy_data(source, target)
        assert len(await target.applied_migrations()) == 3
    finally:
        await target.close()


async def test_the_database_in_use_is_not_a_target(source: Database) -> None:
    with pytest.raises(StartupError, match="the database the bot uses"):
        await copy_data(source, source)
