"""Group commit for daily answers: clicks that arrive together are written in one transaction.

Each click still gets its own result, and exactly-once holds because the primary key
(post, member) decides: `INSERT ... ON CONFLICT DO NOTHING RETURNING` reports which rows
went in, so a double click (in the same batch or a later one) is refused and counts nothing.
A burst of a thousand clicks costs a handful of transactions instead of a thousand.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_db_time
from bot.db import Database

MAX_BATCH = 400  # 9 bound values a row: well under SQLite's 32,766 variables


@dataclass(frozen=True)
class PendingAnswer:
    post_id: int
    guild_id: int
    user_id: int
    option_index: int
    correct: bool
    topic: str
    at: datetime


@dataclass(frozen=True)
class WrittenAnswer:
    """What happened to one click: recorded (with points and counts) or a repeat."""

    recorded: bool
    option_index: int  # the member's recorded option (the earlier one for a repeat)
    used_hint: bool
    points: int
    answered: int
    correct_count: int


class AnswerWriter:
    def __init__(self, db: Database, full_points: int, hint_points: int) -> None:
        self.db = db
        self.full_points = full_points
        self.hint_points = hint_points
        self._queue: list[tuple[PendingAnswer, asyncio.Future[WrittenAnswer]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.batches = 0

    async def write(self, answer: PendingAnswer) -> WrittenAnswer:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[WrittenAnswer] = loop.create_future()
        self._queue.append((answer, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain(), name="challenge-answers")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                results = await self._write_batch([answer for answer, _ in batch])
            except Exception as error:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.batches += 1
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _write_batch(self, batch: list[PendingAnswer]) -> list[WrittenAnswer]:
        rows = ", ".join(
            ["(?, ?, ?, ?, ?, EXISTS (SELECT 1 FROM daily_hints h"
             " WHERE h.post_id = ? AND h.user_id = ?), ?)"] * len(batch)
        )  # fmt: skip
        params: list[object] = []
        for a in batch:
            params += [a.post_id, a.guild_id, a.user_id, a.option_index, int(a.correct)]
            params += [a.post_id, a.user_id, to_db_time(a.at)]
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO daily_answers (post_id, guild_id, user_id, option_index, correct,"
                f" used_hint, answered_at) VALUES {rows} ON CONFLICT DO NOTHING"
                " RETURNING post_id, user_id, option_index, used_hint",
                params,
            )
            inserted = {(r[0], r[1]): (r[2], bool(r[3])) for r in await cursor.fetchall()}
            winners: dict[tuple[int, int], PendingAnswer] = {}
            for a in batch:
                key = (a.post_id, a.user_id)
                if key in inserted and key not in winners and inserted[key][0] == a.option_index:
                    winners[key] = a
            per_post: dict[int, list[int]] = defaultdict(lambda: [0, 0])
            awards = []
            for (post_id, user_id), a in winners.items():
                per_post[post_id][0] += 1
                per_post[post_id][1] += int(a.correct)
                if a.correct:
                    points = (
                        self.hint_points if inserted[(post_id, user_id)][1] else self.full_points
                    )
                    if points > 0:
                        awards.append(
                            (a.guild_id, user_id, "daily", str(post_id), a.topic, points,
                             to_db_time(a.at))
                        )  # fmt: skip
            counts: dict[int, tuple[int, int]] = {}
            for post_id in {a.post_id for a in batch}:
                added, right = per_post.get(post_id, [0, 0])
                cursor = await conn.execute(
                    "UPDATE daily_posts SET answered_count = answered_count + ?,"
                    " correct_count = correct_count + ? WHERE id = ?"
                    " RETURNING answered_count, correct_count",
                    (added, right, post_id),
                )
                row = await cursor.fetchone()
                counts[post_id] = (row[0], row[1]) if row else (0, 0)
            if awards:
                await conn.executemany(
                    "INSERT INTO challenge_points (guild_id, user_id, source, ref, topic, points,"
                    " awarded_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    awards,
                )
            earlier = await self._earlier_options(conn, batch, winners, inserted)
        results = []
        for a in batch:
            key = (a.post_id, a.user_id)
            answered, right = counts[a.post_id]
            if winners.get(key) is a:
                used_hint = inserted[key][1]
                points = (self.hint_points if used_hint else self.full_points) if a.correct else 0
                results.append(
                    WrittenAnswer(True, a.option_index, used_hint, points, answered, right)
                )
            else:
                results.append(WrittenAnswer(False, earlier[key], False, 0, answered, right))
        return results

    @staticmethod
    async def _earlier_options(conn, batch, winners, inserted) -> dict[tuple[int, int], int]:
        """The recorded option of every member whose click was a repeat."""
        earlier = {key: inserted[key][0] for key in winners}
        missing: dict[int, set[int]] = defaultdict(set)
        for a in batch:
            if (a.post_id, a.user_id) not in earlier:
                missing[a.post_id].add(a.user_id)
        for post_id, users in missing.items():
            marks = ",".join("?" * len(users))
            cursor = await conn.execute(
                "SELECT user_id, option_index FROM daily_answers"
                f" WHERE post_id = ? AND user_id IN ({marks})",
                (post_id, *users),
            )
            for user_id, option in await cursor.fetchall():
                earlier[(post_id, user_id)] = option
        for a in batch:
            earlier.setdefault((a.post_id, a.user_id), -1)
        return earlier
