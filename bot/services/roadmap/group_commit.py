"""Group commit: concurrent writes of the same kind share one transaction.

When many members check in at once (a reminder wave, a class ending), each check-in
waiting for the writer and then paying for its own commit is what limits throughput.
Writes submitted while the writer is busy are collected and run together in the next
batch: one transaction, one commit, each write inside its own savepoint so a refused or
failing write is rolled back alone and only its caller sees the error. A write that
arrives while the writer is free and nothing waits runs at once, in its own transaction.
A caller's result is returned only after the commit that holds it, so nothing is reported
done that is not.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from bot.db import Database

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]


class GroupCommit:
    def __init__(self, db: Database, max_batch: int = 64) -> None:
        self.db = db
        self.max_batch = max_batch
        self._pending: list[tuple[Work, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.batches = 0  # how many transactions ran, for tests and metrics

    async def submit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in a shared transaction; return its result once committed.

        The batches run in their own task, so a caller that is cancelled never leaves the
        others of its batch without an answer.
        """
        if not self._pending and not self.db.writing:
            # Nothing to share a transaction with, and the writer is free: write now.
            return await self.db.run_transaction(work)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._drain(), name="roadmap-group-commit")
        return await future

    async def _drain(self) -> None:
        while self._pending:
            await self._run_batch()

    async def _run_batch(self) -> None:
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]

        def run(conn: sqlite3.Connection) -> list[tuple[bool, Any]]:
            outcomes: list[tuple[bool, Any]] = []
            for work, _ in batch:
                conn.execute("SAVEPOINT item")
                try:
                    value = work(conn)
                except Exception as error:
                    conn.execute("ROLLBACK TO item")
                    conn.execute("RELEASE item")
                    outcomes.append((False, error))
                else:
                    conn.execute("RELEASE item")
                    outcomes.append((True, value))
            return outcomes

        try:
            outcomes = await self.db.run_transaction(run)
        except BaseException as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        finally:
            self.batches += 1
        for (ok, value), (_, future) in zip(outcomes, batch, strict=True):
            if future.done():
                continue  # its caller went away; the write is committed all the same
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
