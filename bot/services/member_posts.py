"""The bot's own posts that quote a member, and what an erasure leaves to undo on Discord.

What a member erases must also leave the server, not only the database. When a member
erases their data:
- posts the bot made that quote them (check-ins, blockers sent to the mentors, Q&A
  escalations, portfolio review requests and reviews) are deleted, and
- threads the bot created and named after their words (follow-up and escalation threads
  named after a question, review threads named after a project) are renamed,
as far as the bot can still find them. Each service queues its own posts while it erases
the rows that pointed at them; the queue holds only channel and message ids, and the
privacy cog works through it, retrying with a back-off (a post already gone, or a channel
the bot lost access to, is dropped: there is nothing more it can do).

Posts that only mention a member (a weekly results podium, a buddy request) are not
touched: they hold no words of theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.clock import Clock, to_db_time
from bot.db import Database, Transaction

RENAMED_THREAD = "Removed at a member's request"
GIVE_UP_AFTER = 8
FIRST_RETRY = timedelta(minutes=1)


class Cleanup(StrEnum):
    DELETE = "delete"  # delete the message
    RENAME = "rename"  # rename the thread (message_id is the thread's id)


@dataclass(frozen=True)
class PendingCleanup:
    channel_id: int
    message_id: int
    action: Cleanup
    attempts: int


async def queue_cleanups(
    conn: Transaction, items: Iterable[tuple[int | None, int | None, Cleanup]]
) -> int:
    """Inside an erasure's transaction: queue these posts to delete or threads to rename."""
    rows = [(c, m, str(a)) for c, m, a in items if c is not None and m is not None]
    if rows:
        await conn.executemany(
            "INSERT INTO post_cleanups (channel_id, message_id, action) VALUES (?, ?, ?)"
            " ON CONFLICT (message_id, action) DO NOTHING",
            rows,
        )
    return len(rows)


class MemberPosts:
    """Records posts that quote a member; erasing the member queues them for deletion."""

    privacy_section = "bot_posts"

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def record(
        self, guild_id: int, user_id: int, channel_id: int, message_id: int, kind: str
    ) -> None:
        await self.db.execute(
            "INSERT INTO member_posts (message_id, channel_id, guild_id, user_id, kind,"
            " posted_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
            (message_id, channel_id, guild_id, user_id, kind, to_db_time(self.clock.now())),
        )

    # --- MemberDataSource ----------------------------------------------------------------

    async def export_member(self, user_id: int) -> dict[str, Any]:
        rows = await self.db.fetch_all(
            "SELECT guild_id, channel_id, message_id, kind, posted_at FROM member_posts"
            " WHERE user_id = ? ORDER BY posted_at",
            (user_id,),
        )
        return {"posts_quoting_you": [dict(row) for row in rows]}

    async def delete_member(self, user_id: int) -> int:
        async with self.db.transaction() as conn:
            posts = await conn.fetch_all(
                "SELECT channel_id, message_id FROM member_posts WHERE user_id = ?", (user_id,)
            )
            await queue_cleanups(conn, ((p[0], p[1], Cleanup.DELETE) for p in posts))
            changed = await conn.execute("DELETE FROM member_posts WHERE user_id = ?", (user_id,))
            return changed

    async def delete_guild(self, guild_id: int) -> int:
        return await self.db.execute("DELETE FROM member_posts WHERE guild_id = ?", (guild_id,))

    # --- The queue ---------------------------------------------------------------------

    async def due_cleanups(self, now: datetime, limit: int) -> list[PendingCleanup]:
        rows = await self.db.fetch_all(
            "SELECT channel_id, message_id, action, attempts FROM post_cleanups"
            " WHERE retry_at IS NULL OR retry_at <= ? ORDER BY message_id, action LIMIT ?",
            (to_db_time(now), limit),
        )
        return [PendingCleanup(r[0], r[1], Cleanup(r[2]), r[3]) for r in rows]

    async def cleanup_done(self, item: PendingCleanup) -> None:
        """Done, or impossible (gone already, no access): either way, nothing more to try."""
        await self.db.execute(
            "DELETE FROM post_cleanups WHERE message_id = ? AND action = ?",
            (item.message_id, str(item.action)),
        )

    async def cleanup_failed(self, item: PendingCleanup, now: datetime) -> None:
        """Discord failed for a passing reason: try again later, and give up eventually."""
        if item.attempts + 1 >= GIVE_UP_AFTER:
            await self.cleanup_done(item)
            return
        retry = now + FIRST_RETRY * 2**item.attempts
        await self.db.execute(
            "UPDATE post_cleanups SET attempts = attempts + 1, retry_at = ?"
            " WHERE message_id = ? AND action = ?",
            (to_db_time(retry), item.message_id, str(item.action)),
        )
