"""Writing one daily answer: exactly once per member, with the post's counts and the points.

The primary key (post, member) decides: `INSERT ... ON CONFLICT DO NOTHING RETURNING` tells
the click whether it was the first. On PostgreSQL a second click of the same member waits
for the first one's transaction and then finds the row; the counters move with
`answered_count + 1` in the same statement that returns them, so concurrent answers never
lose a count on either engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.db import Database


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


async def write_answer(
    db: Database, a: PendingAnswer, full_points: int, hint_points: int
) -> WrittenAnswer:
    async with db.transaction() as tx:
        used_hint = await tx.fetch_value(
            "INSERT INTO daily_answers (post_id, guild_id, user_id, option_index, correct,"
            " used_hint, answered_at) VALUES (?, ?, ?, ?, ?, CAST(EXISTS (SELECT 1 FROM"
            " daily_hints h WHERE h.post_id = ? AND h.user_id = ?) AS INTEGER), ?)"
            " ON CONFLICT DO NOTHING RETURNING used_hint",
            (
                a.post_id,
                a.guild_id,
                a.user_id,
                a.option_index,
                a.correct,
                a.post_id,
                a.user_id,
                a.at,
            ),
        )
        if used_hint is None:
            earlier = await tx.fetch_value(
                "SELECT option_index FROM daily_answers WHERE post_id = ? AND user_id = ?",
                (a.post_id, a.user_id),
            )
            counts = await tx.fetch_one(
                "SELECT answered_count, correct_count FROM daily_posts WHERE id = ?", (a.post_id,)
            )
            answered, right = (counts[0], counts[1]) if counts else (0, 0)
            return WrittenAnswer(
                False, -1 if earlier is None else earlier, False, 0, answered, right
            )
        counts = await tx.fetch_one(
            "UPDATE daily_posts SET answered_count = answered_count + 1,"
            " correct_count = correct_count + ? WHERE id = ?"
            " RETURNING answered_count, correct_count",
            (a.correct, a.post_id),
        )
        points = (hint_points if used_hint else full_points) if a.correct else 0
        if points > 0:
            await tx.execute(
                "INSERT INTO challenge_points (guild_id, user_id, source, ref, topic, points,"
                " awarded_at) VALUES (?, ?, 'daily', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (a.guild_id, a.user_id, str(a.post_id), a.topic, points, a.at),
            )
    answered, right = (counts[0], counts[1]) if counts else (0, 0)
    return WrittenAnswer(True, a.option_index, bool(used_hint), points, answered, right)
