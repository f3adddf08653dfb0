"""Consistent copies of the live database, daily backups with retention, and restore.

Copies use SQLite's online backup API on a second connection: in WAL mode that connection
reads one consistent snapshot while the bot keeps writing, so a backup holds every
transaction committed before it started and no half of any later one. A copy is written
to a hidden temporary file, checked, and only then renamed to its name, so a file with a
backup's name is always complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sqlite3
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.clock import Clock
from bot.config import Settings
from bot.db import load_migrations
from bot.db.schema_check import SCHEMA_SQL, expected_schema, schema_difference, schema_entries
from bot.db.sqlite import SCHEMA_MIGRATIONS_TABLE
from bot.db.sqlite_hardening import harden
from bot.errors import StartupError
from bot.metrics import Metrics
from bot.private_files import create_new, publish

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
DAILY_NAME = re.compile(r"^mentor-(\d{8})T\d{6}Z\.db$")
RETRY_AFTER_FAILURE = timedelta(hours=1)
# A partial copy this old belongs to no running backup: its writer was killed.
STALE_PARTIAL_SECONDS = 3600
PG_DUMP_ADVICE = (
    "The database is PostgreSQL: back it up with pg_dump and restore with pg_restore "
    "(README, 'When to move to PostgreSQL'); backup and restore here are for SQLite files."
)


class BackupError(StartupError):
    """A backup or restore could not be done; the message tells the operator why."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    seconds: float


@dataclass(frozen=True)
class DatabaseCheck:
    """What `verify_database` found: an intact Mentor database at schema `version`."""

    path: Path
    version: int
    pending_migrations: int


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    target: Path
    previous_saved_as: Path | None
    check: DatabaseCheck


def stamp(when: datetime) -> str:
    return when.strftime(STAMP_FORMAT)


def daily_backup_name(when: datetime) -> str:
    return f"mentor-{stamp(when)}.db"


# --- Copying ------------------------------------------------------------------------------


def backup_database(source: Path, dest: Path) -> BackupResult:
    """Copy the live database at `source` to the new file `dest`.

    `dest` is created private (0600), never overwritten, never written through a symlink.
    """
    started = time.monotonic()
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise BackupError(f"There is no database at {source} to back up (check DATABASE_PATH).")
    if dest.exists() or dest.is_symlink():
        raise BackupError(f"{dest} already exists: choose a new file name or a folder.")
    if dest.resolve() == source.resolve():
        raise BackupError("The backup cannot be written over the live database.")
    partial = dest.with_name(f".{dest.name}.partial")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _copy(source, partial)
        _fsync(partial)
        try:
            publish(partial, dest)
        except FileExistsError:
            raise BackupError(
                f"{dest} already exists: choose a new file name or a folder."
            ) from None
        _fsync(dest.parent)
    except BackupError:
        _remove(partial)
        raise
    except (OSError, sqlite3.Error) as exc:
        _remove(partial)
        reason = getattr(exc, "strerror", None) or str(exc)
        raise BackupError(
            f"Cannot write the backup to {dest} ({reason}): "
            "choose a folder that exists and that the bot's user can write to."
        ) from None
    return BackupResult(dest, dest.stat().st_size, time.monotonic() - started)


def _copy(source: Path, dest: Path) -> None:
    """One-step online backup into the new private file `dest` (a link or a file left
    there is removed first, never followed), made standalone and integrity-checked."""
    _remove(dest)
    create_new(dest)
    with contextlib.closing(sqlite3.connect(source, timeout=30)) as src:
        try:
            harden(src)
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a readable SQLite database ({exc}).") from None
        with contextlib.closing(sqlite3.connect(dest)) as dst:
            harden(dst)
            src.backup(dst)  # pages=-1: the whole database in one step, from one snapshot
            # The copy inherits WAL mode from the header; a backup should be one plain file.
            dst.execute("PRAGMA journal_mode = DELETE")
            problems = _integrity_problems(dst)
    if problems:
        raise BackupError(f"The copy of {source} failed its integrity check: {problems[0]}.")


def _integrity_problems(conn: sqlite3.Connection) -> list[str]:
    rows = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    return [] if rows == ["ok"] else rows


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        path.unlink()


# --- Checking and restoring ---------------------------------------------------------------


def verify_database(path: Path, *, shown: Path | None = None) -> DatabaseCheck:
    """Refuse anything but an intact Mentor database this code can run.

    Its schema (every table, index, trigger and view) must be exactly what the migrations it
    records produce: a file with anything else (a trigger that copies members' questions
    elsewhere, a view, a changed table) is refused, whatever its data.
    """
    path = Path(path)
    name = shown or path  # what the operator called it (the copy's own name is hidden)
    if not path.is_file():
        raise BackupError(f"{name} does not exist or is not a file.")
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise BackupError(f"{name} is not an SQLite database, so it cannot be restored.")
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            harden(conn)
            problems = _integrity_problems(conn)
            if problems:
                raise BackupError(
                    f"{name} is damaged (integrity check: {problems[0]}); "
                    "restore an older backup instead."
                )
            has_table = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            ).fetchone()
            if not has_table:
                raise BackupError(
                    f"{name} is an SQLite database but not Mentor's (no schema_migrations)."
                )
            applied = dict(conn.execute("SELECT version, checksum FROM schema_migrations"))
            found = schema_entries(conn.execute(SCHEMA_SQL))
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{name} is damaged ({exc}); restore an older backup instead.") from None
    migrations = load_migrations()
    known = {m.version: m.checksum for m in migrations}
    newer = sorted(v for v in applied if v not in known)
    if newer:
        raise BackupError(
            f"{name} was made by a newer Mentor (migration {newer[-1]:04d}): "
            "upgrade the bot before restoring it."
        )
    edited = sorted(v for v, checksum in applied.items() if known[v] != checksum)
    if edited:
        raise BackupError(
            f"{name} has migration {edited[0]:04d} in a form this code does not know: "
            "it was made by a different build of Mentor."
        )
    in_order = [m for m in migrations if m.version in applied]
    if [m.version for m in in_order] != [m.version for m in migrations[: len(in_order)]]:
        raise BackupError(f"{name} skips a migration, so Mentor never made it; refusing it.")
    expected = expected_schema((SCHEMA_MIGRATIONS_TABLE, *(m.sql for m in in_order)))
    difference = schema_difference(found, expected)
    if difference:
        raise BackupError(
            f"{name} is not a database Mentor made: its schema has {difference}. Restoring "
            "it could run code hidden in it (a trigger or view), so it is refused; restore "
            "another backup."
        )
    return DatabaseCheck(path, max(applied, default=0), len(known) - len(applied))


def restore_database(source: Path, target: Path, now: datetime) -> RestoreResult:
    """Replace the database at `target` with the checked copy `source`.

    The caller must hold the run lock (no bot running). The current database, with its
    write-ahead log, is kept beside it as `<name>.before-restore-<time>`, never deleted.
    """
    source, target = Path(source), Path(target)
    verify_database(source)  # a clear refusal before anything is written
    if target.exists() and source.resolve() == target.resolve():
        raise BackupError("That file is the live database itself; nothing to restore.")
    incoming = target.with_name(f".{target.name}.restoring")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(source, incoming)
        _fsync(incoming)
        # Checked again as copied: the source could have changed since it was checked.
        check = verify_database(incoming, shown=source)
    except (OSError, sqlite3.Error) as exc:
        _remove(incoming)
        raise BackupError(f"Cannot write beside {target} ({exc}).") from None
    except BackupError:
        _remove(incoming)
        raise
    check = replace(check, path=source)
    saved = None
    if target.exists():
        saved = target.with_name(f"{target.name}.before-restore-{stamp(now)}")
        os.replace(target, saved)
        wal = Path(f"{target}-wal")
        if wal.exists():
            # Keep it paired with the saved file, so opening the saved file sees it all.
            os.replace(wal, Path(f"{saved}-wal"))
    # A stale -shm would describe the old file's WAL; SQLite rebuilds it on open.
    _remove(Path(f"{target}-shm"))
    os.replace(incoming, target)
    _fsync(target.parent)
    return RestoreResult(source, target, saved, check)


# --- Daily backups ------------------------------------------------------------------------


class BackupService:
    """Takes the daily backup at BACKUP_TIME (UTC) and keeps the newest BACKUP_KEEP.

    Whether today's backup exists is read from the folder itself, so a restart, a restore
    or a missed day never causes a second backup the same day, and a day the bot was off
    gets its backup at the next tick (once).
    """

    def __init__(
        self, settings: Settings, clock: Clock, metrics: Metrics, database_path: Path | None
    ) -> None:
        """`database_path` None: the database is PostgreSQL, whose backups pg_dump takes."""
        self.settings = settings
        self.database_path = database_path
        self.clock = clock
        self.metrics = metrics
        self._retry_after: datetime | None = None

    @property
    def folder(self) -> Path:
        return self.settings.backup_folder

    async def backup_to(self, dest: Path) -> BackupResult:
        if self.database_path is None:
            raise BackupError(PG_DUMP_ADVICE)
        return await asyncio.to_thread(backup_database, self.database_path, dest)

    def has_backup_for(self, day: date) -> bool:
        return any(d == day.strftime("%Y%m%d") for d, _ in self._daily_files())

    def _daily_files(self) -> list[tuple[str, Path]]:
        """(day, path) of every daily backup in the folder, newest first."""
        try:
            entries = list(self.folder.iterdir())
        except OSError:
            return []
        found = [(m.group(1), p) for p in entries if (m := DAILY_NAME.match(p.name))]
        return sorted(found, key=lambda item: item[1].name, reverse=True)

    def is_due(self, now: datetime) -> bool:
        if self.settings.backup_keep == 0 or self.database_path is None:
            return False
        if self._retry_after is not None and now < self._retry_after:
            return False
        hour, minute = (int(part) for part in self.settings.backup_time.split(":"))
        if (now.hour, now.minute) < (hour, minute):
            return False
        return not self.has_backup_for(now.date())

    async def run_daily(self, now: datetime) -> BackupResult | None:
        """Take today's backup if it is due, then prune; None when nothing was due."""
        if not self.is_due(now):
            return None
        try:
            result = await self.backup_to(self.folder / daily_backup_name(now))
        except BackupError:
            self._retry_after = now + RETRY_AFTER_FAILURE
            self.metrics.backups.labels(outcome="failed").inc()
            raise
        self._retry_after = None
        self.metrics.backups.labels(outcome="ok").inc()
        self.metrics.last_backup_timestamp.set(now.timestamp())
        removed = self.prune()
        log.info(
            "Backup written to %s (%d bytes, %.1f s); removed %d old one(s)",
            result.path,
            result.size_bytes,
            result.seconds,
            len(removed),
        )
        return result

    def prune(self) -> list[Path]:
        """Delete daily backups beyond the newest BACKUP_KEEP, and copies left half-written
        by a killed process; other files are left alone."""
        keep = self.settings.backup_keep
        stale = [path for _, path in self._daily_files()[keep:]]
        cutoff = time.time() - STALE_PARTIAL_SECONDS
        for path in self.folder.glob(".mentor-*.db.partial"):
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    stale.append(path)
        removed = []
        for path in stale:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
        return removed
