"""The storage API every service uses, whichever engine is behind it.

Writes: `async with db.transaction() as tx:` then `tx.execute`, `tx.executemany`,
`tx.fetch_one`, `tx.fetch_all` and `tx.fetch_value`; the transaction commits when the block
ends and rolls back when it raises. Reads outside a transaction: the same three read helpers
on the database, which see committed data only. `db.execute` is one write in its own
transaction.

SQL is written once, with `?` placeholders; the PostgreSQL engine translates them. Rows are
read by column name (`row["user_id"]`) or position, and `dict(row)` gives every column.
Values are mapped the same way on both engines (`bot.db.values`): booleans are stored as the
integers 0 and 1, datetimes as UTC text, dates as ISO text, JSON as text the service wrote,
bytes as a blob.

Isolation. SQLite runs one write transaction at a time (`BEGIN IMMEDIATE` on the one writer
connection), so every write transaction is serialisable there. PostgreSQL runs them at READ
COMMITTED, concurrently: a transaction that reads something and then writes on the strength
of it calls `tx.lock(...)` first with a key naming what it reads (a member, a server's queue),
and transactions holding the same key run one after the other. Single statements that decide
for themselves (`UPDATE ... WHERE status = 'open'`, `INSERT ... ON CONFLICT DO NOTHING`) need
no lock on either engine. READ COMMITTED never raises a serialisation failure, and the locks
are taken in one fixed order per service, so there is nothing to retry.

Cluster-wide locks. Several bot processes (a shard cluster) share one PostgreSQL database;
work that is not per server runs in one of them at a time. `db.hold(name)` takes the lock
`name` for as long as this process lives, or says it still has it; `db.exclusively(name)`
waits for it around one block. On PostgreSQL they are session-level advisory locks on a
connection of their own, so a process that dies lets go of them as its connection closes.
SQLite serves one process (the run lock, bot/runlock.py): there every lock is this process's.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, ClassVar, Protocol

from bot.db.migrations import Migration, check_applied, load_migrations
from bot.errors import DomainError

log = logging.getLogger("bot.db")

Params = Sequence[Any]

TRY_AGAIN = "The database is busy or out of reach for a moment: try again shortly."


class Row(Protocol):
    """A result row: by column name or position, `keys()`, and `dict(row)`."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Any: ...

    def __iter__(self) -> Any: ...

    def __len__(self) -> int: ...


class DatabaseUnavailable(DomainError):
    """The database could not be reached or stayed locked: nothing was written."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(TRY_AGAIN)
        self.detail = detail


class Transaction(ABC):
    """One open transaction; every statement runs in it, in order."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for each parameter row."""

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def pipeline(self, *statements: tuple[str, Params]) -> list[list[Row]]:
        """Run `statements` in order and return each one's rows (none for a write without
        RETURNING). For writes that do not depend on each other's results: an engine may
        send them together (SQLite queues them for its writer's thread at once). An error
        is raised as usual, and the block's transaction rolled back."""
        return [await self.fetch_all(sql, params) for sql, params in statements]

    @abstractmethod
    async def lock(self, *key: int | str) -> None:
        """Hold a lock named by `key` until the transaction ends (see the module docstring)."""

    async def lock_all(self, keys: Iterable[tuple[int | str, ...]]) -> None:
        """Hold the lock of each key, taken in the order given (callers keep one order, so
        two transactions never wait for each other). An engine may take them in one trip."""
        for key in keys:
            await self.lock(*key)


class Database(ABC):
    """An open database: its engine's connections, and the migrations it has."""

    engine: ClassVar[str]
    max_writers: int = 1  # write transactions that can run at once

    @property
    @abstractmethod
    def description(self) -> str:
        """What the operator configured, without a password: for messages and logs."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One write in its own transaction; returns the number of rows it changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    @abstractmethod
    async def close(self) -> None: ...

    # --- Cluster-wide locks (see the module docstring) -----------------------------

    async def hold(self, name: str) -> bool:
        """Take the cluster-wide lock `name` until this process ends, or confirm it still
        holds it: True while it is this process's. Never waits for another holder."""
        return True

    async def held_elsewhere(self, name: str) -> bool:
        """Whether another process holds the cluster-wide lock `name` now (it is alive)."""
        return False

    @asynccontextmanager
    async def exclusively(self, name: str) -> AsyncIterator[None]:
        """Run a block while no other process of the cluster runs one under `name`."""
        yield

    # --- What copy-data needs to know about the tables ---------------------------

    @abstractmethod
    async def tables(self) -> list[str]:
        """The application's tables in the order they were created (parents first)."""

    @abstractmethod
    async def columns(self, table: str) -> list[str]:
        """The columns a row is copied with (not the ones the engine computes itself)."""

    @abstractmethod
    async def primary_key(self, table: str) -> list[str]: ...

    async def copied(self, table: str) -> None:
        """After rows were inserted with their own ids: let new rows continue after them."""
        return None

    # --- Migrations -------------------------------------------------------------

    @abstractmethod
    async def _ensure_migrations_table(self) -> None: ...

    @abstractmethod
    async def _apply(self, migration: Migration) -> None:
        """Apply one file and record it, all in one transaction."""

    @abstractmethod
    async def refuse_foreign(self) -> None:
        """Refuse a database that holds another application's tables."""

    async def applied_migrations(self) -> dict[int, str]:
        await self._ensure_migrations_table()
        rows = await self.fetch_all("SELECT version, checksum FROM schema_migrations")
        return {row["version"]: row["checksum"] for row in rows}

    def migrations(self) -> list[Migration]:
        return load_migrations(self.engine)

    async def pending_migrations(
        self, migrations: list[Migration] | None = None
    ) -> list[Migration]:
        """What is left to apply; refuses a database newer than the code or an edited file."""
        migrations = self.migrations() if migrations is None else migrations
        await self.refuse_foreign()
        applied = await self.applied_migrations()
        return check_applied(migrations, applied, self.description)

    async def check_schema(self) -> None:
        """Refuse a database whose schema the migrations did not make (SQLite: a file can
        carry triggers that would run inside the bot's statements). Nothing by default."""
        return None

    async def migrate(self, migrations: list[Migration] | None = None) -> list[Migration]:
        """Apply what is missing, each file in its own transaction; return what was applied."""
        pending = await self.pending_migrations(migrations)
        for migration in pending:
            await self._apply(migration)
            log.info("Applied migration %s", migration.filename)
        return pending
