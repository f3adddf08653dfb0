"""Exactly-once bookkeeping for scheduled posts, keyed by (guild, kind, period)."""

from __future__ import annotations

from bot.clock import Clock, to_db_time
from bot.db import Database


class ScheduledPosts:
    """Claim a post before sending it; mark it sent after, or release it if sending failed.

    A claim is an `INSERT` on the primary key (guild, kind, period), so two ticks, two
    processes or a restart can never both win the same post.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def claim(self, guild_id: int, kind: str, period: str) -> bool:
        """True when this caller now owns the post and must send it."""
        changed = await self.db.execute(
            "INSERT INTO scheduled_posts (guild_id, kind, period, status, claimed_at) "
            "VALUES (?, ?, ?, 'claimed', ?) ON CONFLICT DO NOTHING",
            (guild_id, kind, period, to_db_time(self.clock.now())),
        )
        return changed == 1

    async def mark_sent(
        self, guild_id: int, kind: str, period: str, message_id: int | None = None
    ) -> None:
        await self.db.execute(
            "UPDATE scheduled_posts SET status = 'sent', message_id = ?, sent_at = ? "
            "WHERE guild_id = ? AND kind = ? AND period = ?",
            (message_id, to_db_time(self.clock.now()), guild_id, kind, period),
        )

    async def release(self, guild_id: int, kind: str, period: str) -> None:
        """Give a claimed post back (sending failed), so a later tick tries again."""
        await self.db.execute(
            "DELETE FROM scheduled_posts WHERE guild_id = ? AND kind = ? AND period = ? "
            "AND status = 'claimed'",
            (guild_id, kind, period),
        )

    async def was_sent(self, guild_id: int, kind: str, period: str) -> bool:
        status = await self.db.fetch_value(
            "SELECT status FROM scheduled_posts WHERE guild_id = ? AND kind = ? AND period = ?",
            (guild_id, kind, period),
        )
        return status == "sent"
