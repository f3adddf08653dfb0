"""`python -m bot copy-data --to URL`: move a community to another database.

Every table is copied in batches (its primary key's order, a transaction per batch), then
verified: the target's row count and a checksum of every row must equal the source's. The
source is only read. The target must be empty, and either new (it is migrated first) or
at exactly the source's schema version. Works both ways: SQLite to PostgreSQL and back.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from bot.db.base import Database
from bot.errors import StartupError

BATCH_ROWS = 5000


@dataclass(frozen=True)
class TableCopy:
    table: str
    rows: int
    checksum: str


Progress = Callable[[str, int, int], None]


def progress_bar(stream: TextIO = sys.stderr, width: int = 30) -> Progress:
    """A one-line progress bar per table, redrawn in place."""

    def show(table: str, done: int, total: int) -> None:
        filled = width if total == 0 else width * done // total
        bar = "#" * filled + "-" * (width - filled)
        end = "\n" if done >= total else ""
        stream.write(f"\r{table:<26} [{bar}] {done:>10,}/{total:,} rows{end}")
        stream.flush()

    return show


def _canonical(value: Any) -> str:
    """The same text for the same value whichever engine returned it."""
    if isinstance(value, bytes | bytearray | memoryview):
        return "b:" + bytes(value).hex()
    if isinstance(value, float):
        return "f:" + repr(value)
    if isinstance(value, bool):
        return "i:" + str(int(value))
    if isinstance(value, int):
        return "i:" + str(value)
    return "n:" if value is None else "s:" + str(value)


async def _batches(db: Database, table: str, columns: list[str], key: list[str]):
    """Every row of `table` in primary-key order, a batch at a time (keyset pagination)."""
    names = ", ".join(columns)
    order = ", ".join(key)
    positions = [columns.index(k) for k in key]
    last: tuple | None = None
    while True:
        if last is None:
            sql = f"SELECT {names} FROM {table} ORDER BY {order} LIMIT ?"
            params: tuple = (BATCH_ROWS,)
        else:
            marks = ", ".join("?" for _ in key)
            after = f"WHERE ({order}) > ({marks})"
            sql = f"SELECT {names} FROM {table} {after} ORDER BY {order} LIMIT ?"
            params = (*last, BATCH_ROWS)
        rows = await db.fetch_all(sql, params)
        if not rows:
            return
        yield rows
        last = tuple(rows[-1][p] for p in positions)
        if len(rows) < BATCH_ROWS:
            return


async def table_checksum(db: Database, table: str, columns: list[str]) -> tuple[int, str]:
    """(rows, SHA-256 of every row's values in primary-key order)."""
    digest = hashlib.sha256()
    count = 0
    async for rows in _batches(db, table, columns, await db.primary_key(table)):
        for row in rows:
            digest.update("\x1f".join(_canonical(v) for v in row).encode() + b"\x1e")
        count += len(rows)
    return count, digest.hexdigest()


async def check_copyable(source: Database, target: Database) -> None:
    """Refuse a target that holds data or another schema version, or a stale source."""
    if source.description == target.description and source.engine == target.engine:
        raise StartupError("The target is the database the bot uses: name another one in --to.")
    if await source.pending_migrations():
        raise StartupError(
            f"The source {source.description} has migrations pending: run "
            "python -m bot migrate first."
        )
    await target.refuse_foreign()
    mine = {m.version for m in source.migrations()}
    theirs = set(await target.applied_migrations())
    if theirs and theirs != mine:
        raise StartupError(
            f"The target {target.description} is at another schema version "
            f"({max(theirs):04d}, this code: {max(mine):04d}): use an empty database."
        )
    if theirs:
        for table in await target.tables():
            if await target.fetch_value(f"SELECT count(*) FROM {table}"):
                raise StartupError(
                    f"The target {target.description} is not empty (table {table} has rows): "
                    "copy into a new, empty database."
                )


async def copy_data(
    source: Database, target: Database, progress: Progress | None = None
) -> list[TableCopy]:
    """Copy every table from `source` into the empty `target`, then verify each one."""
    await check_copyable(source, target)
    await target.migrate()
    copies = []
    for table in await source.tables():
        wanted = set(await target.columns(table))
        columns = [c for c in await source.columns(table) if c in wanted]
        key = await source.primary_key(table)
        total = await source.fetch_value(f"SELECT count(*) FROM {table}")
        insert = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        )
        done = 0
        if progress:
            progress(table, 0, total)
        async for rows in _batches(source, table, columns, key):
            await target.executemany(insert, [tuple(row) for row in rows])
            done += len(rows)
            if progress:
                progress(table, done, total)
        await target.copied(table)
        copies.append(await verify_table(source, target, table, columns))
    return copies


async def verify_table(
    source: Database, target: Database, table: str, columns: list[str]
) -> TableCopy:
    rows, checksum = await table_checksum(source, table, columns)
    copied_rows, copied_checksum = await table_checksum(target, table, columns)
    if (rows, checksum) != (copied_rows, copied_checksum):
        raise StartupError(
            f"Table {table} differs after the copy ({rows:,} rows in the source, "
            f"{copied_rows:,} in the target, checksums {checksum[:12]} and "
            f"{copied_checksum[:12]}): the target is incomplete; drop it and copy again."
        )
    return TableCopy(table, rows, checksum)
