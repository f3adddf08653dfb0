"""The SQLite database: one writer connection, one reader connection, WAL, and migrations.

- **Writes** go through one plain sqlite3 connection, one transaction at a time (the write
  lock). A short hot transaction (`run_transaction`, such as a check-in) runs directly on the
  event loop: its whole transaction costs less than a trip to another thread and back.
  Everything else (`transaction()`, migrations, `run_transaction(..., background=True)`, and
  every write when `DATABASE_SYNCHRONOUS=full`, whose commits wait for the disk) runs on the
  writer's own thread, so the event loop never waits for the disk.
- **Reads** go through aiosqlite's connection on its thread and see committed data only;
  that connection is `query_only`, so nothing can write through it by mistake.
- **Checkpoints** (copying the WAL back into the database file, with an fsync) run in the
  background on a third connection every `CHECKPOINT_EVERY_COMMITS` commits, so no write
  waits for one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.errors import StartupError
from bot.schema_check import SCHEMA_SQL, expected_schema, schema_difference, schema_entries
from bot.sqlite_hardening import UNTRUSTED_SCHEMA, harden

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
SCHEMA_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
    " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
)
BUSY_TIMEOUT_MS = 5000
SYNCHRONOUS_LEVELS = {"normal": "NORMAL", "full": "FULL"}
CHECKPOINT_EVERY_COMMITS = 100
# The writer checkpoints by itself only if the background checkpoints fall this far behind
# (pages in the WAL, about 40 MB), so the WAL cannot grow without bound.
WRITER_AUTOCHECKPOINT_PAGES = 10_000

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


class WriteCursor:
    """A writer cursor with aiosqlite's calling style: fetches run on the writer's thread."""

    def __init__(self, db: Database, cursor: sqlite3.Cursor) -> None:
        self._db = db
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> sqlite3.Row | None:
        return await self._db._on_writer_thread(self._cursor.fetchone)

    async def fetchall(self) -> list[sqlite3.Row]:
        return await self._db._on_writer_thread(self._cursor.fetchall)

    async def close(self) -> None:
        await self._db._on_writer_thread(self._cursor.close)


class _Statement:
    """`await session.execute(...)` or `async with session.execute(...) as cursor:`."""

    def __init__(self, db: Database, sql: str, params: Sequence[Any]) -> None:
        self._db = db
        self._sql = sql
        self._params = params
        self._cursor: WriteCursor | None = None

    async def _run(self) -> WriteCursor:
        writer = self._db.writer
        cursor = await self._db._on_writer_thread(writer.execute, self._sql, self._params)
        return WriteCursor(self._db, cursor)

    def __await__(self) -> Generator[Any, None, WriteCursor]:
        return self._run().__await__()

    async def __aenter__(self) -> WriteCursor:
        self._cursor = await self._run()
        return self._cursor

    async def __aexit__(self, *exc_info: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class WriteSession:
    """The writer inside `transaction()`: statements run on the writer's thread, in order."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Statement:
        return _Statement(self._db, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> WriteCursor:
        writer = self._db.writer
        cursor = await self._db._on_writer_thread(writer.executemany, sql, list(rows))
        return WriteCursor(self._db, cursor)


class Database:
    """One writer connection and one reader; see the module docstring for who runs where."""

    def __init__(
        self,
        reader: aiosqlite.Connection,
        writer: sqlite3.Connection,
        writer_thread: ThreadPoolExecutor,
        path: Path,
        synchronous: str = "normal",
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.path = path
        self._writer_thread = writer_thread
        self._writer_busy = threading.Lock()  # held by whichever thread uses the writer
        self._write_lock = asyncio.Lock()  # one write transaction at a time
        # Inline commits must not wait for the disk: under FULL every COMMIT fsyncs.
        self._inline = synchronous == "normal"
        self._commits = 0
        self._checkpoints = ThreadPoolExecutor(1, thread_name_prefix="db-checkpoint")
        self._checkpoint_conn: sqlite3.Connection | None = None
        self._checkpoint: Future[None] | None = None

    @classmethod
    async def open(cls, path: Path | str, synchronous: str = "normal") -> Database:
        """Open (creating the folder and file if needed) and configure the database."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(
                f"Cannot create the database folder {path.parent} ({exc.strerror}): "
                "set DATABASE_PATH to a writable location."
            ) from None
        writer_thread = ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        loop = asyncio.get_running_loop()
        writer: sqlite3.Connection | None = None
        try:
            writer = await loop.run_in_executor(writer_thread, _open_writer, path, synchronous)
            reader = await _open_reader(path)
        except BaseException:
            if writer is not None:
                writer.close()
            writer_thread.shutdown(wait=False)
            raise
        return cls(reader, writer, writer_thread, path, synchronous)

    async def close(self) -> None:
        async with self._write_lock:
            checkpoint = self._checkpoint
            if checkpoint is not None:
                await asyncio.wrap_future(checkpoint)
            if self._checkpoint_conn is not None:
                await asyncio.get_running_loop().run_in_executor(
                    self._checkpoints, self._checkpoint_conn.close
                )
            self._checkpoints.shutdown(wait=True)
            await self.reader.close()
            # The last connection to close checkpoints the WAL and removes it.
            await self._on_writer_thread(self.writer.close)
            self._writer_thread.shutdown(wait=True)

    # --- Writing --------------------------------------------------------------

    @property
    def writing(self) -> bool:
        """Whether a write transaction holds the writer (others would wait for it)."""
        return self._write_lock.locked()

    def _use_writer(self, function: Callable[..., T], *args: Any) -> T:
        with self._writer_busy:
            return function(*args)

    async def _on_writer_thread(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer_thread, self._use_writer, function, *args)

    def _begin(self) -> None:
        if self.writer.in_transaction:  # left open by a cancelled or failed transaction
            log.warning("Rolling back a write transaction that was left open")
            self.writer.execute("ROLLBACK")
        self.writer.execute("BEGIN IMMEDIATE")

    def _rollback(self) -> None:
        if self.writer.in_transaction:
            self.writer.execute("ROLLBACK")

    def _commit(self) -> None:
        try:
            self.writer.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _transact(self, work: Callable[[sqlite3.Connection], T]) -> T:
        self._begin()
        try:
            result = work(self.writer)
        except BaseException:
            self._rollback()
            raise
        self._commit()
        return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[WriteSession]:
        """`BEGIN IMMEDIATE` ... `COMMIT`, or `ROLLBACK` when the block raises.

        Statements in the block run on the writer's thread; reads through `fetch_*` in the
        meantime see only what is committed.
        """
        async with self._write_lock:
            await self._on_writer_thread(self._begin)
            try:
                yield WriteSession(self)
            except BaseException:
                await self._on_writer_thread(self._rollback)
                raise
            await self._on_writer_thread(self._commit)
            self._committed()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write in its own transaction; returns the number of rows changed."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def run_transaction(
        self, work: Callable[[sqlite3.Connection], T], *, background: bool = False
    ) -> T:
        """Run `work(conn)` inside `BEGIN IMMEDIATE` ... `COMMIT` on the writer connection.

        `work` is plain synchronous code over the sqlite3 connection; if it raises, the
        transaction is rolled back and the error re-raised. It runs on the event loop, which
        is faster than any trip to a thread for the short transactions of the hot paths;
        pass `background=True` for work that may take long (a whole server's data), and it
        runs on the writer's thread instead. Serialised with `transaction()` by the same lock.
        """
        async with self._write_lock:
            if self._inline and not background:
                result = self._use_writer(self._transact, work)
            else:
                result = await self._on_writer_thread(self._transact, work)
            self._committed()
            return result

    # --- Checkpoints ----------------------------------------------------------

    def _committed(self) -> None:
        """Count a commit; every so many, start a checkpoint unless one is running."""
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY_COMMITS:
            return
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        self._commits = 0
        self._checkpoint = self._checkpoints.submit(self._run_checkpoint)

    def _run_checkpoint(self) -> None:
        """Copy committed WAL pages into the database file without blocking anyone.

        PASSIVE never waits for the writer or the readers; what it cannot copy yet is
        copied by the next one.
        """
        try:
            if self._checkpoint_conn is None:
                self._checkpoint_conn = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False
                )
                self._checkpoint_conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                harden(self._checkpoint_conn)
            self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            log.warning("Background checkpoint failed (%s); the next one will retry", exc)

    # --- Reading --------------------------------------------------------------

    # Each read runs whole in one trip to the reader's thread. A cursor left open across an
    # await would hold its read snapshot, and every coroutine sharing the reader would read
    # that snapshot too: a read right after a write could miss the write.

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        def read(conn: sqlite3.Connection) -> sqlite3.Row | None:
            cursor = conn.execute(sql, params)
            try:
                return cursor.fetchone()
            finally:
                cursor.close()

        return await self.run_read(read)

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return await self.run_read(lambda conn: conn.execute(sql, params).fetchall())

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def run_read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run read-only `work(conn)` on the reader's thread in one trip (no transaction)."""
        # `_execute` queues a callable on aiosqlite's thread; its Cursor uses it the same way.
        return await self.reader._execute(work, self.reader._conn)

    # --- Migrations -----------------------------------------------------------

    async def applied_migrations(self) -> dict[int, str]:
        await self.execute(SCHEMA_MIGRATIONS_TABLE)
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

    async def check_schema(self, migrations: list[Migration] | None = None) -> None:
        """Refuse a database whose schema is not exactly what its migrations produce (a
        trigger or view someone added would run inside the bot's own statements)."""
        migrations = load_migrations() if migrations is None else migrations
        applied = await self.applied_migrations()
        scripts = (SCHEMA_MIGRATIONS_TABLE, *(m.sql for m in migrations if m.version in applied))
        found = schema_entries(await self.fetch_all(SCHEMA_SQL))
        difference = schema_difference(found, expected_schema(scripts))
        if difference:
            raise StartupError(
                f"The database {self.path} has a schema Mentor's migrations do not make "
                f"({difference}); it may run code hidden in it, so the bot will not use it. "
                "Restore a backup (python -m bot restore FILE)."
            )

    async def _apply(self, migration: Migration) -> None:
        # executescript() commits any open transaction first, so the script carries its own.
        record = (
            "INSERT INTO schema_migrations (version, name, checksum) VALUES "
            f"({migration.version}, '{migration.name}', '{migration.checksum}');"
        )
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\n;\n{record}\nCOMMIT;"
        async with self._write_lock:
            try:
                await self._on_writer_thread(self.writer.executescript, script)
            except sqlite3.Error as exc:
                await self._on_writer_thread(self._rollback)
                raise StartupError(
                    f"Migration {migration.filename} failed ({exc}); nothing of it was applied."
                ) from None


def _open_writer(path: Path, synchronous: str) -> sqlite3.Connection:
    """The writer connection, configured; run on the writer's thread."""
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StartupError(
            f"Cannot open the database {path} ({exc}): set DATABASE_PATH to a writable file."
        ) from None
    conn.row_factory = sqlite3.Row
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        harden(conn, verified_schema=True)  # checked by open_database before any use
        conn.execute("PRAGMA journal_mode = WAL")
        # Durability of what a member was told is saved. Every write commits before the
        # cog answers (services return after COMMIT), and in WAL mode COMMIT returns once
        # the transaction's pages are appended to the -wal file:
        # - a killed process (SIGKILL, OOM killer, crash) loses nothing committed at any
        #   `synchronous` level: the pages are in the OS already and the next open
        #   replays the WAL;
        # - a power cut or kernel panic can lose the last commits under NORMAL, which
        #   fsyncs the WAL only at checkpoints. FULL fsyncs at every COMMIT and survives
        #   that too, at about half the commit rate (bench/commit_durability.py).
        # DATABASE_SYNCHRONOUS chooses (deploy/README.md, "Stopping, crashes and durability").
        conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS_LEVELS[synchronous]}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StartupError(
            f"{path} is not a usable SQLite database ({exc}): "
            "point DATABASE_PATH at another file or restore a backup."
        ) from None
    return conn


async def _open_reader(path: Path) -> aiosqlite.Connection:
    reader = await aiosqlite.connect(path, isolation_level=None)
    reader.row_factory = sqlite3.Row
    try:
        await reader.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await reader.execute(UNTRUSTED_SCHEMA)
        await reader.execute("PRAGMA query_only = ON")
    except BaseException:
        await reader.close()
        raise
    return reader


async def open_database(path: Path | str, synchronous: str = "normal") -> Database:
    """Open and fully migrate the database: what the bot and the CLI use."""
    db = await Database.open(path, synchronous)
    try:
        await db.migrate()
        await db.check_schema()
    except BaseException:
        await db.close()
        raise
    return db
