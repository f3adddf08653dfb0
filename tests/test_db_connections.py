"""The SQLite engine's connections: nothing on the event loop, what readers see, rollbacks,
background checkpoints, and another process holding the write lock."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db import DatabaseUnavailable
from bot.db.sqlite import CHECKPOINT_EVERY_COMMITS, SqliteDatabase

INSERT = "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, '2026-03-02 10:00:00')"
pytestmark = pytest.mark.usefixtures("sqlite_only")


@pytest.fixture
async def lite(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    db = await SqliteDatabase.open(tmp_path / "mentor.db")
    await db.migrate()
    yield db
    await db.close()


async def test_no_statement_runs_on_the_event_loop_thread(lite: SqliteDatabase) -> None:
    threads: set[int] = set()
    statements: list[str] = []

    def trace(statement: str) -> None:
        threads.add(threading.get_ident())
        statements.append(statement)

    for conn in (lite._writer, lite._checkpointer, *lite._readers):
        await conn.set_trace_callback(trace)
    async with lite.transaction() as tx:
        await tx.execute(INSERT, ("k", "v"))
        assert await tx.fetch_value("SELECT value FROM bot_state WHERE key = 'k'") == "v"
    assert await lite.fetch_value("SELECT count(*) FROM bot_state") == 1
    await lite._run_checkpoint()
    assert any("BEGIN IMMEDIATE" in s for s in statements)
    assert any("wal_checkpoint" in s for s in statements)
    assert threads and threading.get_ident() not in threads


async def test_full_durability_is_set_on_the_writer(tmp_path: Path) -> None:
    db = await SqliteDatabase.open(tmp_path / "full.db", "full")
    try:
        async with db.transaction() as tx:
            assert await tx.fetch_value("PRAGMA synchronous") == 2  # FULL
    finally:
        await db.close()


async def test_the_readers_cannot_write(lite: SqliteDatabase) -> None:
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await lite.fetch_value(INSERT + " RETURNING 1", ("k", "v"))
    assert await lite.fetch_value("SELECT count(*) FROM bot_state WHERE key = 'k'") == 0


async def test_readers_see_only_committed_writes(lite: SqliteDatabase) -> None:
    async with lite.transaction() as tx:
        await tx.execute(INSERT, ("pending", "v"))
        assert await tx.fetch_value("SELECT count(*) FROM bot_state WHERE key = 'pending'") == 1
        assert await lite.fetch_value("SELECT count(*) FROM bot_state WHERE key = 'pending'") == 0
    assert await lite.fetch_value("SELECT count(*) FROM bot_state WHERE key = 'pending'") == 1


async def test_a_failed_write_leaves_nothing_and_the_next_one_works(lite: SqliteDatabase) -> None:
    with pytest.raises(ValueError, match="refused"):
        async with lite.transaction() as tx:
            await tx.execute(INSERT, ("half", "v"))
            raise ValueError("refused")
    await lite.execute(INSERT, ("after", "v"))
    keys = [row[0] for row in await lite.fetch_all("SELECT key FROM bot_state ORDER BY key")]
    assert "half" not in keys and "after" in keys


async def test_a_cancelled_transaction_is_rolled_back_and_writes_go_on(
    lite: SqliteDatabase,
) -> None:
    entered = asyncio.Event()

    async def slow() -> None:
        async with lite.transaction() as tx:
            await tx.execute(INSERT, ("cancelled", "v"))
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(slow())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await lite.execute(INSERT, ("next", "v"))
    keys = {row[0] for row in await lite.fetch_all("SELECT key FROM bot_state")}
    assert "cancelled" not in keys and "next" in keys


async def test_writes_are_checkpointed_into_the_database_file_in_the_background(
    tmp_path: Path,
) -> None:
    path = tmp_path / "checkpoint.db"
    db = await SqliteDatabase.open(path)
    await db.migrate()
    try:
        size_before = path.stat().st_size
        blob = "x" * 4000  # about a page per row
        for index in range(CHECKPOINT_EVERY_COMMITS):
            await db.execute(INSERT, (f"row{index}", blob))
        # The WAL holds the rows; the background checkpoint copies them into the main file.
        assert db._checkpoint is not None
        await db._checkpoint
        assert path.stat().st_size >= size_before + CHECKPOINT_EVERY_COMMITS * 4000
    finally:
        await db.close()
    assert f"{path.name}-wal" not in os.listdir(tmp_path)  # the last close folds the WAL in
    with sqlite3.connect(path) as conn:
        count = conn.execute("SELECT count(*) FROM bot_state WHERE key LIKE 'row%'").fetchone()
    assert count == (CHECKPOINT_EVERY_COMMITS,)


def hold_write_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process (a sqlite3 shell, a copy tool) holding the write lock."""
    script = (
        "import sqlite3, sys, time\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "conn.execute('COMMIT')\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


async def loop_gaps(stop: asyncio.Event) -> float:
    """The longest the event loop went without running this task, in seconds."""
    worst, last = 0.0, time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        worst, last = max(worst, now - last), now
    return worst


async def test_another_process_holding_the_lock_never_blocks_the_loop(
    lite: SqliteDatabase,
) -> None:
    holder = hold_write_lock(lite.path, 1.0)
    stop = asyncio.Event()
    watcher = asyncio.create_task(loop_gaps(stop))
    started = time.perf_counter()
    try:
        await lite.execute(INSERT, ("waited", "v"))  # waits on the writer's thread
        waited = time.perf_counter() - started
        assert await lite.fetch_value("SELECT count(*) FROM bot_state") == 1  # reads go on
    finally:
        stop.set()
        holder.wait(timeout=10)
    assert waited > 0.5  # it really waited for the other process
    assert await watcher < 0.1  # and the loop kept running meanwhile


async def test_a_lock_held_past_the_busy_timeout_says_try_again(tmp_path: Path) -> None:
    db = await SqliteDatabase.open(tmp_path / "busy.db", busy_timeout_ms=200)
    await db.migrate()
    holder = hold_write_lock(db.path, 1.0)
    try:
        with pytest.raises(DatabaseUnavailable, match="try again shortly"):
            await db.execute(INSERT, ("late", "v"))
    finally:
        holder.wait(timeout=10)
    await db.execute(INSERT, ("later", "v"))  # the writer works again once the lock goes
    assert await db.fetch_value("SELECT count(*) FROM bot_state") == 1
    await db.close()


async def test_a_read_after_a_write_sees_it_while_other_reads_run(lite: SqliteDatabase) -> None:
    """Reads never share a snapshot: a long read running beside a write and a read of it
    must not hide the write (one reader connection serves every coroutine)."""
    async with lite.transaction() as conn:
        await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        await conn.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 200,)] * 20000)
    stop = False

    async def reading() -> None:
        while not stop:
            await lite.fetch_all("SELECT id FROM t ORDER BY v DESC, id LIMIT 5")

    readers = [asyncio.create_task(reading()) for _ in range(2)]
    try:
        for n in range(100):
            async with lite.transaction() as conn:
                await conn.execute("INSERT INTO t (v) VALUES (?)", (f"new {n}",))
            assert (
                await lite.fetch_value("SELECT count(*) FROM t WHERE v = ?", (f"new {n}",)) == 1
            ), n
    finally:
        stop = True
        await asyncio.gather(*readers)
