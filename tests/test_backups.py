"""Backups and restore: consistent online copies, daily rotation, and refusals."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import Database, open_database
from bot.runlock import DatabaseInUse, RunLock
from bot.services.backups import (
    BackupError,
    BackupService,
    backup_database,
    restore_database,
    verify_database,
)
from bot.wiring import Services

pytestmark = pytest.mark.usefixtures("sqlite_only")  # pg_dump backs PostgreSQL up


def rows_of(path: Path) -> list[int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return [r[0] for r in conn.execute("SELECT guild_id FROM guild_settings ORDER BY 1")]


async def insert_guilds(db: Database, ids: range) -> None:
    await db.executemany(
        "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, '2026-03-02 10:00:00')",
        [(i,) for i in ids],
    )


def wal_of(path: Path) -> Path:
    return Path(f"{path}-wal")


def files_matching(folder: Path, pattern: str) -> list[Path]:
    return list(folder.rglob(pattern))


def corrupt_copy_of(source: Path, dest: Path) -> Path:
    """A copy of a real Mentor database with garbage over its middle pages."""
    backup_database(source, dest)
    data = bytearray(dest.read_bytes())
    page = 4096
    assert len(data) > 6 * page, "the database must span several pages"
    data[2 * page : 5 * page] = b"\xa5" * (3 * page)
    dest.write_bytes(bytes(data))
    return dest


async def test_backup_during_writes_holds_every_committed_row(db: Database, tmp_path: Path) -> None:
    await insert_guilds(db, range(1, 20_001))  # a few MB, so the copy takes a moment
    committed = 20_000
    stop = asyncio.Event()

    async def writer() -> None:
        nonlocal committed
        while not stop.is_set():
            await db.execute(
                "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, 'x')",
                (committed + 1,),
            )
            committed += 1  # counted only once COMMIT has returned

    writing = asyncio.create_task(writer())
    await asyncio.sleep(0.05)
    committed_before = committed
    result = await asyncio.to_thread(backup_database, db.path, tmp_path / "copy.db")
    committed_after = committed
    stop.set()
    await writing

    assert committed_after > committed_before, "the writer must have run during the backup"
    copied = rows_of(result.path)
    # Every row committed before the backup began, none missing in between (one snapshot).
    assert copied == list(range(1, len(copied) + 1))
    assert committed_before <= len(copied) <= committed_after
    with sqlite3.connect(result.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] > 0
    assert not wal_of(result.path).exists()


async def test_backup_to_a_path_that_cannot_be_written_is_refused_clearly(
    db: Database, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(BackupError, match="Cannot write the backup to"):
        backup_database(db.path, blocker / "backup.db")
    assert not files_matching(tmp_path, "*.partial")


async def test_backup_never_overwrites_a_file(db: Database, tmp_path: Path) -> None:
    existing = tmp_path / "old-backup.db"
    existing.write_bytes(b"precious")
    with pytest.raises(BackupError, match="already exists"):
        backup_database(db.path, existing)
    assert existing.read_bytes() == b"precious"
    with pytest.raises(BackupError, match="already exists"):
        backup_database(db.path, db.path)


def test_backup_of_a_missing_database_says_so(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database"):
        backup_database(tmp_path / "nothing.db", tmp_path / "b.db")


async def test_verify_accepts_a_backup_and_refuses_everything_else(
    db: Database, tmp_path: Path
) -> None:
    await insert_guilds(db, range(1, 3000))
    good = backup_database(db.path, tmp_path / "good.db").path
    assert verify_database(good).pending_migrations == 0

    text = tmp_path / "notes.db"
    text.write_text("just some text, not a database\n" * 100)
    with pytest.raises(BackupError, match="not an SQLite database"):
        verify_database(text)

    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(BackupError, match="not an SQLite database"):
        verify_database(empty)

    corrupt = corrupt_copy_of(db.path, tmp_path / "corrupt.db")
    with pytest.raises(BackupError, match="damaged"):
        verify_database(corrupt)

    other = tmp_path / "other-app.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (id INTEGER)")
    with pytest.raises(BackupError, match="not Mentor's"):
        verify_database(other)

    newer = backup_database(db.path, tmp_path / "newer.db").path
    with sqlite3.connect(newer) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')"
        )
    with pytest.raises(BackupError, match="newer Mentor"):
        verify_database(newer)

    with pytest.raises(BackupError, match="does not exist"):
        verify_database(tmp_path / "missing.db")


async def test_restore_replaces_the_database_and_keeps_the_old_one(
    settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    db = await open_database(settings.database_path)
    await insert_guilds(db, range(1, 11))
    backup = backup_database(db.path, tmp_path / "backup.db").path
    await insert_guilds(db, range(11, 21))
    await db.close()
    # A -wal left by a killed bot must not be replayed into the restored file.
    wal_of(settings.database_path).write_bytes(b"stale log of the old database")

    result = restore_database(backup, settings.database_path, clock.now())

    assert rows_of(settings.database_path) == list(range(1, 11))
    assert result.previous_saved_as is not None
    assert rows_of(result.previous_saved_as) == list(range(1, 21))
    assert wal_of(result.previous_saved_as).read_bytes() == b"stale log of the old database"
    assert not wal_of(settings.database_path).exists()
    reopened = await open_database(settings.database_path)
    assert await reopened.fetch_value("SELECT count(*) FROM guild_settings") == 10
    await reopened.close()


async def test_restore_of_a_bad_file_leaves_the_database_untouched(
    db: Database, settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    await insert_guilds(db, range(1, 3000))
    corrupt = corrupt_copy_of(db.path, tmp_path / "corrupt.db")
    before = rows_of(settings.database_path)
    for bad in (corrupt, tmp_path / "missing.db"):
        with pytest.raises(BackupError):
            restore_database(bad, settings.database_path, clock.now())
    assert rows_of(settings.database_path) == before
    assert not files_matching(tmp_path, "*before-restore*")


def test_run_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "mentor.db"
    with (
        RunLock(path, "the bot is running"),
        pytest.raises(DatabaseInUse, match="the bot is running, pid"),
    ):
        RunLock(path, "a restore is in progress").acquire()
    with RunLock(path, "a restore is in progress") as again:
        assert again.held


# --- Daily backups --------------------------------------------------------------------------


@pytest.fixture
def backups(services: Services, tmp_path: Path) -> BackupService:
    services.settings.backup_dir = tmp_path / "backups"
    services.settings.backup_keep = 3
    services.settings.backup_time = "03:00"
    return services.backups


def daily_files(service: BackupService) -> list[str]:
    return sorted(p.name for p in service.folder.glob("mentor-*.db"))


async def test_daily_backup_runs_once_a_day_after_its_time(
    backups: BackupService, clock: FixedClock
) -> None:
    clock.set(clock.now().replace(hour=2, minute=59))
    assert await backups.run_daily(clock.now()) is None
    clock.advance(minutes=1)
    first = await backups.run_daily(clock.now())
    assert first is not None and first.path.name == "mentor-20260302T030000Z.db"
    clock.advance(hours=5)
    assert await backups.run_daily(clock.now()) is None
    assert daily_files(backups) == ["mentor-20260302T030000Z.db"]
    assert backups.metrics.last_backup_timestamp._value.get() > 0


async def test_a_day_the_bot_was_off_gets_one_late_backup(
    backups: BackupService, clock: FixedClock
) -> None:
    clock.set(clock.now().replace(hour=17, minute=45))  # started long after 03:00
    assert await backups.run_daily(clock.now()) is not None
    assert await backups.run_daily(clock.now() + timedelta(minutes=1)) is None
    assert len(daily_files(backups)) == 1


async def test_retention_keeps_the_newest_and_leaves_other_files(
    backups: BackupService, clock: FixedClock
) -> None:
    backups.folder.mkdir(parents=True)
    manual = backups.folder / "before-upgrade.db"
    manual.write_bytes(b"kept by hand")
    clock.set(clock.now().replace(hour=4))
    for _ in range(5):
        await backups.run_daily(clock.now())
        clock.advance(days=1)
    assert daily_files(backups) == [
        "mentor-20260304T040000Z.db",
        "mentor-20260305T040000Z.db",
        "mentor-20260306T040000Z.db",
    ]
    assert manual.read_bytes() == b"kept by hand"


async def test_a_copy_left_half_written_by_a_kill_is_cleaned_up(
    backups: BackupService, clock: FixedClock
) -> None:
    backups.folder.mkdir(parents=True)
    killed = backups.folder / ".mentor-20260301T030000Z.db.partial"
    killed.write_bytes(b"half a database")
    os.utime(killed, (time.time() - 7200, time.time() - 7200))
    in_progress = backups.folder / ".mentor-20260302T095959Z.db.partial"
    in_progress.write_bytes(b"being written right now")
    clock.set(clock.now().replace(hour=4))
    await backups.run_daily(clock.now())
    assert not killed.exists()
    assert in_progress.exists()


async def test_a_failing_daily_backup_waits_an_hour_before_trying_again(
    backups: BackupService, clock: FixedClock, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    backups.settings.backup_dir = blocker / "backups"
    clock.set(clock.now().replace(hour=4))
    with pytest.raises(BackupError):
        await backups.run_daily(clock.now())
    clock.advance(minutes=59)
    assert await backups.run_daily(clock.now()) is None
    backups.settings.backup_dir = tmp_path / "fixed"
    clock.advance(minutes=1)
    assert await backups.run_daily(clock.now()) is not None


async def test_backups_can_be_turned_off(backups: BackupService, clock: FixedClock) -> None:
    backups.settings.backup_keep = 0
    clock.set(clock.now().replace(hour=12))
    assert await backups.run_daily(clock.now()) is None
    assert not backups.folder.exists()
