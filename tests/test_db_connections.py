"""The database's connections: who writes where, what readers see, and background checkpoints."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.db import CHECKPOINT_EVERY_COMMITS, Database, open_database

INSERT = "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, '2026-03-02T10:00:00Z')"


def _insert(key: str, value: str = "v"):
    def work(conn: sqlite3.Connection) -> int:
        conn.execute(INSERT, (key, value))
        return threading.get_ident()

    return work


async def test_hot_writes_run_on_the_event_loop_and_long_ones_on_the_writer_thread(
    db: Database,
) -> None:
    loop_thread = threading.get_ident()
    assert await db.run_transaction(_insert("inline")) == loop_thread
    assert await db.run_transaction(_insert("long"), background=True) != loop_thread
    assert (
        await db.fetch_value("SELECT count(*) FROM bot_state WHERE key IN ('inline', 'long')") == 2
    )


async def test_full_durability_never_commits_on_the_event_loop(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "full.db", "full")
    try:
        assert await db.run_transaction(_insert("k")) != threading.get_ident()
        level = await db.run_transaction(
            lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0]
        )
        assert level == 2  # FULL
    finally:
        await db.close()


async def test_the_reader_cannot_write(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await db.run_read(lambda conn: conn.execute(INSERT, ("k", "v")))
    assert await db.fetch_value("SELECT count(*) FROM bot_state WHERE key = 'k'") == 0


async def test_readers_see_only_committed_writes(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(INSERT, ("pending", "v"))
        async with conn.execute("SELECT count(*) FROM bot_state WHERE key = 'pending'") as cur:
            assert (await cur.fetchone())[0] == 1  # the transaction sees its own write
        assert await db.fetch_value("SELECT count(*) FROM bot_state WHERE key = 'pending'") == 0
    assert await db.fetch_value("SELECT count(*) FROM bot_state WHERE key = 'pending'") == 1


async def test_a_failed_hot_write_leaves_nothing_and_the_next_one_works(db: Database) -> None:
    def failing(conn: sqlite3.Connection) -> None:
        conn.execute(INSERT, ("half", "v"))
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await db.run_transaction(failing)
    await db.run_transaction(_insert("after"))
    keys = [row[0] for row in await db.fetch_all("SELECT key FROM bot_state ORDER BY key")]
    assert "half" not in keys and "after" in keys


async def test_a_cancelled_transaction_is_rolled_back_and_writes_go_on(db: Database) -> None:
    entered = asyncio.Event()

    async def slow() -> None:
        async with db.transaction() as conn:
            await conn.execute(INSERT, ("cancelled", "v"))
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.run_transaction(_insert("next"))
    keys = {row[0] for row in await db.fetch_all("SELECT key FROM bot_state")}
    assert "cancelled" not in keys and "next" in keys


async def test_writes_are_checkpointed_into_the_database_file_in_the_background(
    tmp_path: Path,
) -> None:
    path = tmp_path / "checkpoint.db"
    db = await open_database(path)
    try:
        size_before = path.stat().st_size
        blob = "x" * 4000  # about a page per row
        for index in range(CHECKPOINT_EVERY_COMMITS):
            await db.run_transaction(_insert(f"row{index}", blob))
        # The WAL holds the rows; the background checkpoint copies them into the main file.
        assert db._checkpoint is not None
        await asyncio.wrap_future(db._checkpoint)
        assert path.stat().st_size >= size_before + CHECKPOINT_EVERY_COMMITS * 4000
    finally:
        await db.close()
    assert f"{path.name}-wal" not in os.listdir(
        tmp_path
    )  # the last close folds the WAL in and removes it
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM bot_state WHERE key LIKE 'row%'").fetchone() == (
            CHECKPOINT_EVERY_COMMITS,
        )


async def test_a_read_after_a_write_sees_it_while_other_reads_run(db: Database) -> None:
    """Reads never share a snapshot: a long read running beside a write and a read of it
    must not hide the write (one reader connection serves every coroutine)."""
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        await conn.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 200,)] * 20000)
    stop = False

    async def reading() -> None:
        while not stop:
            await db.fetch_all("SELECT id FROM t ORDER BY v DESC, id LIMIT 5")

    readers = [asyncio.create_task(reading()) for _ in range(2)]
    try:
        for n in range(100):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO t (v) VALUES (?)", (f"new {n}",))
            assert await db.fetch_value("SELECT count(*) FROM t WHERE v = ?", (f"new {n}",)) == 1, n
    finally:
        stop = True
        await asyncio.gather(*readers)
