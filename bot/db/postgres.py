"""The PostgreSQL engine, through an asyncpg connection pool.

- Statements are written with `?` and translated to `$1, $2, ...` once per text (cached);
  asyncpg prepares each statement once per connection and keeps it (statement cache).
- Transactions run at READ COMMITTED; `tx.lock(key)` is a transaction-level advisory lock
  (`pg_advisory_xact_lock`), which is how services serialise read-then-write work here.
- Values are mapped as on SQLite (`bot.db.values`); NUMERIC results (`sum()` of BIGINT,
  `avg()`) come back as int when whole and float otherwise, as SQLite gives them.
- A dropped connection, a server restarting or a pool that cannot connect turns into
  `DatabaseUnavailable` ("try again shortly"); the pool discards broken connections and
  opens new ones by itself, so the next command works once the server is back.

asyncpg speaks the protocol on the event loop without ever blocking it: every wait is an
awaited socket read, so the loop stays free whatever the server does.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from functools import lru_cache
from typing import Any, ClassVar

import asyncpg

from bot.db.base import Database, DatabaseUnavailable, Params, Row, Transaction
from bot.db.migrations import Migration
from bot.db.url import PostgresTarget
from bot.db.values import params_to_db
from bot.errors import StartupError

log = logging.getLogger(__name__)

MIN_SERVER_VERSION = 130000
MIN_SERVER_NAME = "13"
STATEMENT_CACHE = 1024
CONNECT_TIMEOUT = 10.0
MIGRATION_LOCK = 0x4D454E544F52  # "MENTOR": one process migrates at a time
LOCK_QUERY_TIMEOUT = 10.0
# Errors that mean "the server or the connection is gone for now", not "the SQL is wrong".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`?` placeholders to `$1, $2, ...`, leaving quoted text and comments alone."""
    out: list[str] = []
    number = 0
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:  # doubled quote inside
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1])
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif char == "?":
            number += 1
            out.append(f"${number}")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def lock_key(key: tuple[int | str, ...]) -> int:
    """A stable signed 64-bit number for an advisory lock."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _status_count(status: str) -> int:
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def _numeric(text: str) -> int | float:
    """NUMERIC as SQLite would give it: whole numbers as int, others as float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text"
    )


class _Errors:
    """Turn connection failures into `DatabaseUnavailable` for the member to retry."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        if error is not None and isinstance(error, CONNECTION_ERRORS):
            log.warning("PostgreSQL %s unavailable: %s", self.where, error)
            raise DatabaseUnavailable(f"{self.where}: {error}") from error


class PostgresTransaction(Transaction):
    """Statements on one pooled connection, in a transaction opened by the first of them.

    When that first statement is a lock, `BEGIN` and the locks travel in one message (the
    simple protocol runs several statements, and a lock's key is a number written into the
    SQL): one round trip less for every transaction that locks first.
    """

    def __init__(self, conn: asyncpg.Connection, errors: _Errors) -> None:
        self._conn = conn
        self._errors = errors
        self.begun = False  # BEGIN was sent (it may have failed: ROLLBACK is harmless then)

    async def _begin(self) -> None:
        if not self.begun:
            self.begun = True
            await self._conn.execute("BEGIN")

    async def execute(self, sql: str, params: Params = ()) -> int:
        with self._errors:
            await self._begin()
            return _status_count(await self._conn.execute(translate(sql), *params_to_db(params)))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = [params_to_db(row) for row in rows]
        if batch:
            with self._errors:
                await self._begin()
                await self._conn.executemany(translate(sql), batch)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        with self._errors:
            await self._begin()
            return await self._conn.fetch(translate(sql), *params_to_db(params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        with self._errors:
            await self._begin()
            return await self._conn.fetchrow(translate(sql), *params_to_db(params))

    async def lock(self, *key: int | str) -> None:
        await self.lock_all([key])

    async def lock_all(self, keys: Iterable[tuple[int | str, ...]]) -> None:
        statements = [f"SELECT pg_advisory_xact_lock({lock_key(key)})" for key in keys]
        if not statements:
            return
        if not self.begun:
            self.begun = True
            statements.insert(0, "BEGIN")
        with self._errors:
            await self._conn.execute("; ".join(statements))


class PostgresDatabase(Database):
    engine: ClassVar[str] = "postgres"

    def __init__(self, target: PostgresTarget, pool: asyncpg.Pool) -> None:
        self.target = target
        self.pool = pool
        self.max_writers = pool.get_max_size()
        self._errors = _Errors(target.shown)
        # Cluster-wide locks live on a connection of their own, never one of the pool's:
        # they last as long as this connection, which lasts as long as the process.
        self._holder: asyncpg.Connection | None = None
        self._held: set[int] = set()
        self._holding = asyncio.Lock()

    @property
    def description(self) -> str:
        return self.target.shown

    @classmethod
    async def open(cls, target: PostgresTarget, pool_size: int = 10) -> PostgresDatabase:
        """Connect (refusing an unreachable server, bad credentials or an old version)."""
        where = target.shown
        try:
            pool = await asyncpg.create_pool(
                target.dsn,
                min_size=min(2, pool_size),
                max_size=pool_size,
                statement_cache_size=STATEMENT_CACHE,
                init=_init_connection,
                timeout=CONNECT_TIMEOUT,
            )
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
            raise StartupError(
                f"PostgreSQL at {where} refused the user name or password in DATABASE_URL: "
                "check them."
            ) from None
        except asyncpg.InvalidCatalogNameError:
            raise StartupError(
                f"PostgreSQL at {where} has no such database: create it first "
                "(createdb, or CREATE DATABASE), or fix the name in DATABASE_URL."
            ) from None
        except (OSError, TimeoutError) as exc:
            reason = exc.strerror or type(exc).__name__ if isinstance(exc, OSError) else "timeout"
            raise StartupError(
                f"Cannot reach PostgreSQL at {where} ({reason}): check the host and port in "
                "DATABASE_URL and that the server is running."
            ) from None
        except asyncpg.PostgresError as exc:
            raise StartupError(f"PostgreSQL at {where} refused the connection ({exc}).") from None
        db = cls(target, pool)
        try:
            version = int(await db.fetch_value("SHOW server_version_num"))
        except BaseException:
            await pool.close()
            raise
        if version < MIN_SERVER_VERSION:
            await pool.close()
            raise StartupError(
                f"PostgreSQL at {where} is version {version // 10000}; Mentor needs "
                f"{MIN_SERVER_NAME} or newer: upgrade the server."
            )
        return db

    async def close(self) -> None:
        await self._drop_holder()
        await self.pool.close()

    async def _lock_connection(self) -> asyncpg.Connection:
        """The connection the cluster-wide locks live on, (re)opened when needed."""
        if self._holder is None or self._holder.is_closed():
            self._held.clear()  # a closed session took its locks with it
            self._holder = await asyncpg.connect(
                self.target.dsn, timeout=CONNECT_TIMEOUT, statement_cache_size=0
            )
        return self._holder

    async def hold(self, name: str) -> bool:
        key = lock_key(("cluster", name))
        async with self._holding:
            try:
                holder = await self._lock_connection()
                if key in self._held:
                    # Still connected, so still held: the lock ends only with the session.
                    await holder.fetchval("SELECT 1", timeout=LOCK_QUERY_TIMEOUT)
                    return True
                taken = await holder.fetchval(
                    "SELECT pg_try_advisory_lock($1)", key, timeout=LOCK_QUERY_TIMEOUT
                )
            except Exception as exc:
                # Whatever went wrong, this process cannot be sure it holds the lock: close
                # the connection (releasing anything it still held) and try again next time.
                log.warning("Lost the connection holding cluster-wide locks: %r", exc)
                await self._drop_holder()
                return False
            if taken:
                self._held.add(key)
            return bool(taken)

    async def held_elsewhere(self, name: str) -> bool:
        key = lock_key(("cluster", name))
        async with self._holding:
            if key in self._held:
                return False
            with self._errors:
                holder = await self._lock_connection()
                if not await holder.fetchval(
                    "SELECT pg_try_advisory_lock($1)", key, timeout=LOCK_QUERY_TIMEOUT
                ):
                    return True
                await holder.fetchval(
                    "SELECT pg_advisory_unlock($1)", key, timeout=LOCK_QUERY_TIMEOUT
                )
            return False

    async def _drop_holder(self) -> None:
        """Close the lock connection: every lock it held is released with it."""
        holder, self._holder = self._holder, None
        self._held.clear()
        if holder is not None and not holder.is_closed():
            with suppress(Exception):
                await holder.close(timeout=LOCK_QUERY_TIMEOUT)

    @asynccontextmanager
    async def exclusively(self, name: str) -> AsyncIterator[None]:
        with self._errors:
            conn = await asyncpg.connect(
                self.target.dsn, timeout=CONNECT_TIMEOUT, statement_cache_size=0
            )
        try:
            with self._errors:
                await conn.execute("SELECT pg_advisory_lock($1)", lock_key(("cluster", name)))
            yield
        finally:
            with suppress(Exception):
                await conn.close(timeout=LOCK_QUERY_TIMEOUT)  # the lock goes with it

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        with self._errors:
            conn = await self.pool.acquire()
        try:
            tx = PostgresTransaction(conn, self._errors)
            try:
                yield tx
            except BaseException:
                if tx.begun and not conn.is_closed():
                    with suppress(CONNECTION_ERRORS):
                        await conn.execute("ROLLBACK")
                raise
            if tx.begun:  # a block that sent nothing has nothing to commit
                with self._errors:
                    await conn.execute("COMMIT")
        finally:
            await self.pool.release(conn)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        with self._errors:
            return await self.pool.fetch(translate(sql), *params_to_db(params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        with self._errors:
            return await self.pool.fetchrow(translate(sql), *params_to_db(params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement is its own transaction on PostgreSQL: no BEGIN/COMMIT trips."""
        with self._errors:
            return _status_count(await self.pool.execute(translate(sql), *params_to_db(params)))

    # --- Tables -------------------------------------------------------------------

    async def tables(self) -> list[str]:
        rows = await self.fetch_all(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
            "AND c.relname <> 'schema_migrations' ORDER BY c.oid"
        )
        return [row[0] for row in rows]

    async def columns(self, table: str) -> list[str]:
        rows = await self.fetch_all(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ? AND is_generated = 'NEVER' "
            "ORDER BY ordinal_position",
            (table,),
        )
        return [row[0] for row in rows]

    async def primary_key(self, table: str) -> list[str]:
        rows = await self.fetch_all(
            "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN unnest(i.indkey) WITH ORDINALITY AS k (attnum, position) ON true "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
            "WHERE i.indisprimary AND c.relname = ? AND n.nspname = current_schema() "
            "ORDER BY k.position",
            (table,),
        )
        return [row[0] for row in rows]

    async def copied(self, table: str) -> None:
        """Identity columns continue after the highest id copied."""
        rows = await self.fetch_all(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "current_schema() AND table_name = ? AND is_identity = 'YES'",
            (table,),
        )
        for (column,) in rows:
            # Names from the catalog, never from input.
            await self.fetch_value(
                f"SELECT setval(pg_get_serial_sequence(?, ?), "
                f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)",
                (table, column),
            )

    # --- Migrations ---------------------------------------------------------------

    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        """As on SQLite, with an advisory lock so that two processes never migrate at once."""
        with self._errors:
            conn = await self.pool.acquire()
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                return await super().migrate(migrations)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        finally:
            await self.pool.release(conn)

    async def _ensure_migrations_table(self) -> None:
        await self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT"
            " to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))"
        )

    async def refuse_foreign(self) -> None:
        tables = {
            row[0]
            for row in await self.fetch_all(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        }
        columns = {
            row[0]
            for row in await self.fetch_all(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
            )
        }
        if (tables and "schema_migrations" not in tables) or (
            columns and not {"version", "name", "checksum"} <= columns
        ):
            shown = ", ".join(sorted(tables)[:3])
            raise StartupError(
                f"The database {self.description} holds another application's tables "
                f"({shown}...): give Mentor a database of its own in DATABASE_URL."
            )

    async def _apply(self, migration: Migration) -> None:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                # No parameters: the simple protocol runs every statement of the file.
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
        except asyncpg.PostgresError as exc:
            raise StartupError(
                f"Migration {migration.filename} failed ({exc}); nothing of it was applied."
            ) from None
