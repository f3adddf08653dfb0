"""The SQLite engine: the embedded default, through aiosqlite's public API.

- **One writer connection** serialises write transactions (`BEGIN IMMEDIATE` ... `COMMIT`,
  one at a time under an asyncio lock). Each statement is one trip to the writer's thread.
- **Reader connections** (`query_only`) answer reads outside transactions and see committed
  data only; in WAL mode they never block the writer, nor the writer them.
- **Checkpoints** (copying the WAL into the database file, with an fsync) run on a third
  connection in the background every `CHECKPOINT_EVERY_COMMITS` commits, never on the write
  path; the writer checkpoints by itself only if those fall far behind.

Every sqlite3 call runs on a connection's own thread: the event loop only waits. When
another process holds the write lock, a write waits up to `busy_timeout` on the writer's
thread and then fails with `DatabaseUnavailable` ("try again shortly"); nothing waits on the
event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import ClassVar

import aiosqlite

from bot.db.base import Database, DatabaseUnavailable, Params, Row, Transaction
from bot.db.migrations import Migration
from bot.db.schema_check import SCHEMA_SQL, expected_schema, schema_difference, schema_entries
from bot.db.sqlite_hardening import harden
from bot.db.values import params_to_db
from bot.errors import StartupError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
SYNCHRONOUS_LEVELS = {"normal": "NORMAL", "full": "FULL"}
CHECKPOINT_EVERY_COMMITS = 100
# The writer checkpoints by itself only if the background checkpoints fall this far behind
# (pages in the WAL, about 40 MB), so the WAL cannot grow without bound.
WRITER_AUTOCHECKPOINT_PAGES = 10_000
READERS = 2
SCHEMA_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
    " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
)
BUSY_MESSAGES = ("database is locked", "database is busy", "database table is locked")


def _busy(error: sqlite3.OperationalError) -> bool:
    return any(text in str(error) for text in BUSY_MESSAGES)


class SqliteTransaction(Transaction):
    """Statements on the writer, each one trip to its thread, fewer where they can share one.

    `BEGIN IMMEDIATE` is sent with the transaction's first statement when that is a read
    (a read that ran without the transaction, because BEGIN failed, changed nothing), and
    `pipeline` queues several statements for the writer's thread at once: the thread runs
    them back to back, and the event loop waits once instead of once per statement.
    """

    def __init__(self, db: SqliteDatabase, conn: aiosqlite.Connection) -> None:
        self._db = db
        self._conn = conn
        self.begun = False

    async def _begin(self) -> None:
        try:
            await self._conn.execute_fetchall("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            self._db.raise_busy(exc)
            if "within a transaction" not in str(exc):
                raise
            log.warning("Rolling back a write transaction that was left open")
            await self._conn.rollback()
            await self._conn.execute_fetchall("BEGIN IMMEDIATE")
        self.begun = True

    async def execute(self, sql: str, params: Params = ()) -> int:
        if not self.begun:
            await self._begin()
        cursor = await self._conn.execute(sql, params_to_db(params))
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        if not self.begun:
            await self._begin()
        await self._conn.executemany(sql, [params_to_db(row) for row in rows])

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        if not self.begun and sql.lstrip()[:6].upper() == "SELECT":
            begin = self._conn.execute_fetchall("BEGIN IMMEDIATE")
            read = self._conn.execute_fetchall(sql, params_to_db(params))
            began, rows = await asyncio.gather(begin, read, return_exceptions=True)
            if isinstance(began, sqlite3.OperationalError) and "within" in str(began):
                await self._begin()  # a transaction was left open: start again, then read
                return await self.fetch_all(sql, params)
            if isinstance(began, BaseException):
                if isinstance(began, sqlite3.OperationalError):
                    self._db.raise_busy(began)
                raise began
            self.begun = True
            if isinstance(rows, BaseException):
                raise rows
            return list(rows)
        if not self.begun:
            await self._begin()
        return list(await self._conn.execute_fetchall(sql, params_to_db(params)))

    async def pipeline(self, *statements: tuple[str, Params]) -> list[list[Row]]:
        reads_only = all(sql.lstrip()[:6].upper() == "SELECT" for sql, _ in statements)
        begin = not self.begun and reads_only  # BEGIN travels with reads (see fetch_all)
        if not self.begun and not begin:
            await self._begin()
        calls = [self._conn.execute_fetchall(sql, params_to_db(p)) for sql, p in statements]
        if begin:
            calls.insert(0, self._conn.execute_fetchall("BEGIN IMMEDIATE"))
        results = await asyncio.gather(*calls, return_exceptions=True)
        if begin:
            began, results = results[0], results[1:]
            if isinstance(began, BaseException):
                if isinstance(began, sqlite3.OperationalError):
                    self._db.raise_busy(began)
                    if "within a transaction" in str(began):
                        await self._begin()
                        return await self.pipeline(*statements)
                raise began
            self.begun = True
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [list(rows) for rows in results]  # type: ignore[arg-type]

    async def lock(self, *key: int | str) -> None:
        """Nothing to do: the one writer already runs write transactions one at a time."""


class SqliteDatabase(Database):
    engine: ClassVar[str] = "sqlite"

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        readers: list[aiosqlite.Connection],
        checkpointer: aiosqlite.Connection,
    ) -> None:
        self.path = path
        self._writer = writer
        self._readers = readers
        self._next_reader = itertools.cycle(readers)
        self._checkpointer = checkpointer
        self._write_lock = asyncio.Lock()
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    @property
    def description(self) -> str:
        return str(self.path)

    @classmethod
    async def open(
        cls, path: Path | str, synchronous: str = "normal", busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> SqliteDatabase:
        """Open (creating the folder and file if needed) and configure the database."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(
                f"Cannot create the database folder {path.parent} ({exc.strerror}): "
                "set DATABASE_PATH to a writable location."
            ) from None
        opened: list[aiosqlite.Connection] = []
        try:
            writer = await _open_writer(path, synchronous, busy_timeout_ms)
            opened.append(writer)
            readers = []
            for _ in range(READERS):
                readers.append(await _open_reader(path, busy_timeout_ms))
                opened.append(readers[-1])
            checkpointer = await _connect(path)
            opened.append(checkpointer)
            await checkpointer.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        except BaseException:
            for conn in opened:
                await conn.close()
            raise
        return cls(path, writer, readers, checkpointer)

    async def close(self) -> None:
        async with self._write_lock:
            if self._checkpoint is not None:
                await self._checkpoint
            await self._checkpointer.close()
            for reader in self._readers:
                await reader.close()
            # The last connection to close checkpoints the WAL and removes it.
            await self._writer.close()

    # --- Writing ------------------------------------------------------------------

    @property
    def writing(self) -> bool:
        """Whether a write transaction holds the writer (others would wait for it)."""
        return self._write_lock.locked()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        """`BEGIN IMMEDIATE` ... `COMMIT` on the writer, or `ROLLBACK` when the block raises."""
        async with self._write_lock:
            tx = SqliteTransaction(self, self._writer)
            try:
                yield tx
            except BaseException:
                await asyncio.shield(self._rollback())
                raise
            if not tx.begun:
                return  # the block sent nothing: nothing to commit
            try:
                await self._writer.execute_fetchall("COMMIT")
            except sqlite3.OperationalError as exc:
                await asyncio.shield(self._rollback())
                self.raise_busy(exc)
                raise
            self._committed()

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement is atomic by itself: it runs without BEGIN and COMMIT (one trip)."""
        async with self._write_lock:
            try:
                cursor = await self._writer.execute(sql, params_to_db(params))
            except sqlite3.OperationalError as exc:
                self.raise_busy(exc)
                raise
            self._committed()
            return cursor.rowcount

    def raise_busy(self, error: sqlite3.OperationalError) -> None:
        """Another process held the write lock past the busy timeout: try again shortly."""
        if _busy(error):
            raise DatabaseUnavailable(f"{self.path}: {error}") from None

    async def _rollback(self) -> None:
        """ROLLBACK on the writer's thread (nothing happens when no transaction is open)."""
        await self._writer.rollback()

    # --- Checkpoints --------------------------------------------------------------

    def _committed(self) -> None:
        """Count a commit; every so many, start a checkpoint unless one is running."""
        self._commits += 1
        if self._commits < CHECKPOINT_EVERY_COMMITS:
            return
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        self._commits = 0
        self._checkpoint = asyncio.get_running_loop().create_task(
            self._run_checkpoint(), name="sqlite-checkpoint"
        )

    async def _run_checkpoint(self) -> None:
        """Copy committed WAL pages into the database file without blocking anyone.

        PASSIVE never waits for the writer or the readers; what it cannot copy yet is
        copied by the next one.
        """
        try:
            await self._checkpointer.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            log.warning("Background checkpoint failed (%s); the next one will retry", exc)

    # --- Reading ------------------------------------------------------------------

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        reader = next(self._next_reader)
        try:
            return list(await reader.execute_fetchall(sql, params_to_db(params)))
        except sqlite3.OperationalError as exc:
            self.raise_busy(exc)
            raise

    # --- Tables -------------------------------------------------------------------

    async def tables(self) -> list[str]:
        rows = await self.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> 'schema_migrations' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' "
            "AND name NOT LIKE 'qa_chunks_fts%' ORDER BY rowid"
        )
        return [row[0] for row in rows]

    async def columns(self, table: str) -> list[str]:
        rows = await self.fetch_all("SELECT name, hidden FROM pragma_table_xinfo(?)", (table,))
        return [row[0] for row in rows if row[1] == 0]

    async def copied(self, table: str) -> None:
        """Rows were inserted straight into `table` (copy-data): rebuild each full-text
        index whose content it is (qa_chunks_fts), which only the knowledge base's own
        writes keep in step (bot/services/qa/fts_writes.py)."""
        rows = await self.fetch_all(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
            "AND sql LIKE 'CREATE VIRTUAL TABLE%'"
        )
        for name, sql in rows:
            if re.search(rf"content\s*=\s*'{re.escape(table)}'", sql):
                # A name from the catalog, never from input.
                await self.execute(f"INSERT INTO {name} ({name}) VALUES ('rebuild')")

    async def primary_key(self, table: str) -> list[str]:
        rows = await self.fetch_all(
            "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", (table,)
        )
        return [row[0] for row in rows]

    # --- Migrations ---------------------------------------------------------------

    async def check_schema(self) -> None:
        """Refuse a database whose schema is not exactly what its migrations produce (a
        trigger or view someone added would run inside the bot's own statements)."""
        applied = await self.applied_migrations()
        scripts = (
            SCHEMA_MIGRATIONS_TABLE,
            *(m.sql for m in self.migrations() if m.version in applied),
        )
        found = schema_entries(await self.fetch_all(SCHEMA_SQL))
        difference = schema_difference(found, expected_schema(scripts))
        if difference:
            raise StartupError(
                f"The database {self.path} has a schema Mentor's migrations do not make "
                f"({difference}); it may run code hidden in it, so the bot will not use it. "
                "Restore a backup (python -m bot restore FILE)."
            )

    async def _ensure_migrations_table(self) -> None:
        await self.execute(SCHEMA_MIGRATIONS_TABLE)

    async def refuse_foreign(self) -> None:
        tables = {
            row[0]
            for row in await self.fetch_all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        }
        columns = {
            row[0]
            for row in await self.fetch_all(
                "SELECT name FROM pragma_table_info('schema_migrations')"
            )
        }
        if (tables and "schema_migrations" not in tables) or (
            columns and not {"version", "name", "checksum"} <= columns
        ):
            raise StartupError(
                f"{self.path} holds another application's tables ({', '.join(sorted(tables)[:3])}"
                "...): point DATABASE_PATH at a new file."
            )

    async def _apply(self, migration: Migration) -> None:
        # executescript() would commit an open transaction first, so the script carries its own.
        record = (
            "INSERT INTO schema_migrations (version, name, checksum) VALUES "
            f"({migration.version}, '{migration.name}', '{migration.checksum}');"
        )
        script = f"BEGIN IMMEDIATE;\n{migration.sql}\n;\n{record}\nCOMMIT;"
        async with self._write_lock:
            try:
                await self._writer.executescript(script)
            except sqlite3.Error as exc:
                await self._rollback()
                raise StartupError(
                    f"Migration {migration.filename} failed ({exc}); nothing of it was applied."
                ) from None


class _HardenedConnection(sqlite3.Connection):
    """A connection whose database file cannot run code of its own (bot.db.sqlite_hardening).

    Built by sqlite3.connect on the connection's own thread (aiosqlite passes `factory`
    through), so the hardening runs there like every other statement."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        harden(self)


async def _connect(
    path: Path, factory: type[sqlite3.Connection] = _HardenedConnection
) -> aiosqlite.Connection:
    try:
        conn = await aiosqlite.connect(path, isolation_level=None, factory=factory)
    except sqlite3.Error as exc:
        raise StartupError(
            f"Cannot open the database {path} ({exc}): set DATABASE_PATH to a writable file."
        ) from None
    conn.row_factory = sqlite3.Row
    return conn


async def _open_writer(path: Path, synchronous: str, busy_timeout_ms: int) -> aiosqlite.Connection:
    conn = await _connect(path)
    try:
        await conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        await conn.execute("PRAGMA journal_mode = WAL")
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
        await conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS_LEVELS[synchronous]}")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}")
        await conn.execute_fetchall("SELECT count(*) FROM sqlite_master")
    except sqlite3.DatabaseError as exc:
        await conn.close()
        raise StartupError(
            f"{path} is not a usable SQLite database ({exc}): "
            "point DATABASE_PATH at another file or restore a backup."
        ) from None
    return conn


async def _open_reader(path: Path, busy_timeout_ms: int) -> aiosqlite.Connection:
    reader = await _connect(path)
    try:
        await reader.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        await reader.execute("PRAGMA query_only = ON")
    except BaseException:
        await reader.close()
        raise
    return reader
