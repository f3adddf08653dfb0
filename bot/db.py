"""The SQLite database: one connection, WAL, foreign keys, and numbered migrations."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.errors import StartupError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
BUSY_TIMEOUT_MS = 5000
SYNCHRONOUS_LEVELS = {"normal": "NORMAL", "full": "FULL"}

T = TypeVar("T")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Read `NNNN_name.sql` files in order of their number; numbers must be unique."""
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if match is None:
            raise StartupError(f"Migration file {path.name} must be named NNNN_name.sql.")
        migrations.append(
            Migration(int(match.group(1)), match.group(2), path.read_text(encoding="utf-8"))
        )
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise StartupError("Two migration files share a number: renumber the newer one.")
    return migrations


class Database:
    """One aiosqlite connection. Writes go through `transaction()`, which serialises them."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, synchronous: str = "normal") -> Database:
        """Open (creating the folder and file if needed) and configure the database."""
        path = Path(path)
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StartupError(
                    f"Cannot create the database folder {path.parent} ({exc.strerror}): "
                    "set DATABASE_PATH to a writable location."
                ) from None
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StartupError(
                f"Cannot open the database {path} ({exc}): set DATABASE_PATH to a writable file."
            ) from None
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            # Durability of what a member was told is saved. Every write commits before the
            # cog answers (services return after COMMIT), and in WAL mode COMMIT returns once
            # the transaction's pages are appended to the -wal file:
            # - a killed process (SIGKILL, OOM killer, crash) loses nothing committed at any
            #   `synchronous` level: the pages are in the OS already and the next open
            #   replays the WAL;
            # - a power cut or kernel panic can lose the last commits under NORMAL, which
            #   fsyncs the WAL only at checkpoints. FULL fsyncs at every COMMIT and survives
            #   that too, at about a third of the commit rate (bench/commit_durability.py).
            # DATABASE_SYNCHRONOUS chooses (deploy/README.md, "Stopping, crashes and durability").
            await conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS_LEVELS[synchronous]}")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("SELECT count(*) FROM sqlite_master")
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StartupError(
                f"{path} is not a usable SQLite database ({exc}): "
                "point DATABASE_PATH at another file or restore a backup."
            ) from None
        return cls(conn, path)

    async def close(self) -> None:
        async with self._write_lock:
            await self.conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """`BEGIN IMMEDIATE` ... `COMMIT`, or `ROLLBACK` when the block raises."""
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write in its own transaction; returns the number of rows changed."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def run_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(conn)` on the database thread inside `BEGIN IMMEDIATE` ... `COMMIT`.

        For hot write paths: the whole transaction costs one trip to the database thread
        instead of one per statement. `work` is plain synchronous code over the sqlite3
        connection; if it raises, the transaction is rolled back and the error re-raised.
        It is serialised with `transaction()` by the same lock.
        """

        def body() -> T:
            raw: sqlite3.Connection = self.conn._conn  # aiosqlite's own connection
            raw.execute("BEGIN IMMEDIATE")
            try:
                result = work(raw)
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
            return result

        async with self._write_lock:
            # `_execute` queues a callable on aiosqlite's thread; its Cursor uses it the same way.
            return await self.conn._execute(body)

    async def run_read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run read-only `work(conn)` on the database thread in one trip (no transaction)."""
        return await self.conn._execute(work, self.conn._conn)

    # --- Migrations -----------------------------------------------------------

    async def applied_migrations(self) -> dict[int, str]:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
        )
        rows = await self.fetch_all("SELECT version, checksum FROM schema_migrations")
        return {row["version"]: row["checksum"] for row in rows}

    async def pending_migrations(
        self, migrations: list[Migration] | None = None
    ) -> list[Migration]:
        """What is left to apply; refuses a database newer than the code or an edited file."""
        migrations = load_migrations() if migrations is None else migrations
        applied = await self.applied_migrations()
        known = {m.version: m for m in migrations}
        newer = sorted(v for v in applied if v not in known)
        if newer:
            raise StartupError(
                f"The database {self.path} has migration {newer[-1]:04d}, newer than this code: "
                "upgrade the bot, or restore a backup made by this version."
            )
        for version, checksum in applied.items():
            if known[version].checksum != checksum:
                raise StartupError(
                    f"Migration {known[version].filename} was edited after it was applied to "
                    f"{self.path}: restore the file, and put schema changes in a new migration."
                )
        pending = [m for m in migrations if m.version not in applied]
        if pending and applied and pending[0].version < max(applied):
            raise StartupError(
                f"Migration {pending[0].filename} is numbered below one already applied to "
                f"{self.path}: give it a number after {max(applied):04d}."
            )
        return pending

    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        """Apply what is missing, each file in its own transaction; return what was applied."""
        pending = await self.pending_migrations(migrations)
        for migration in pending:
            await self._apply(migration)
            log.info("Applied migration %s", migration.filename)
        return pending

    async def _apply(self, migration: Migration) -> None:
        # executescript() commits any open transaction first, so the script carries its own.
        record = (
            "INSERT INTO schema_migrations (version, name, checksum) VALUES "
            f"({migration.version}, '{migration.name}', '{migration.checksum}');"
        )
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\n;\n{record}\nCOMMIT;"
        async with self._write_lock:
            try:
                await self.conn.executescript(script)
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise StartupError(
                    f"Migration {migration.filename} failed ({exc}); nothing of it was applied."
                ) from None


async def open_database(path: Path | str, synchronous: str = "normal") -> Database:
    """Open and fully migrate the database: what the bot and the CLI use."""
    db = await Database.open(path, synchronous)
    try:
        await db.migrate()
    except BaseException:
        await db.close()
        raise
    return db
