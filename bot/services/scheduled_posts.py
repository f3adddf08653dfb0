"""Exactly-once bookkeeping for scheduled posts, keyed by (guild, kind, period).

Most posts belong to a server (a daily challenge, a digest). Posts to one member are keyed
by a period that starts with their id: `<user_id>:<day>`, or `<from>:<to>:<day>` for a
buddy request's ping. Those keys are personal data: exported, erased with the member, and
deleted after MEMBER_KEY_DAYS, when no restart can need them any more.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, to_db_time
from bot.db import Database

REMIND_KIND = "roadmap:remind"
NUDGE_KIND = "roadmap:nudge"
BUDDY_PING_KIND = "roadmap:buddy-ping"
MEMBER_KINDS = (REMIND_KIND, NUDGE_KIND, BUDDY_PING_KIND)
MEMBER_KEY_DAYS = 7

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failed attempt, at most an hour.

    A server whose channel is gone costs Discord one refused request per retry; Discord
    bans bots that make too many, so failures back off instead of retrying every tick.
    """
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


class ScheduledPosts:
    """Claim a post before sending it; mark it sent after, or release it if sending failed.

    A claim is an `INSERT` on the primary key (guild, kind, period), so two ticks, two
    processes or a restart can never both win the same post. A released post can be
    claimed again once its back-off has passed.
    """

    privacy_section = "scheduled_posts"

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def claim(self, guild_id: int, kind: str, period: str) -> bool:
        """True when this caller now owns the post and must send it."""
        now = to_db_time(self.clock.now())
        changed = await self.db.execute(
            "INSERT INTO scheduled_posts AS p (guild_id, kind, period, status, claimed_at) "
            "VALUES (?, ?, ?, 'claimed', ?) "
            "ON CONFLICT (guild_id, kind, period) DO UPDATE SET claimed_at = excluded.claimed_at,"
            " retry_at = NULL WHERE p.status = 'claimed' AND p.retry_at IS NOT NULL"
            " AND p.retry_at <= excluded.claimed_at",
            (guild_id, kind, period, now),
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
        """Give a claimed post back (sending failed): a later tick tries again after a back-off."""
        row = await self.db.fetch_one(
            "SELECT attempts FROM scheduled_posts WHERE guild_id = ? AND kind = ? AND period = ? "
            "AND status = 'claimed'",
            (guild_id, kind, period),
        )
        if row is None:
            return
        attempts = row["attempts"] + 1
        await self.db.execute(
            "UPDATE scheduled_posts SET attempts = ?, retry_at = ? "
            "WHERE guild_id = ? AND kind = ? AND period = ? AND status = 'claimed'",
            (
                attempts,
                to_db_time(self.clock.now() + retry_delay(attempts)),
                guild_id,
                kind,
                period,
            ),
        )

    async def is_open(self, guild_id: int, kind: str, period: str) -> bool:
        """True when nobody holds the post: never claimed, or given back and due a retry."""
        held = await self.db.fetch_value(
            "SELECT 1 FROM scheduled_posts WHERE guild_id = ? AND kind = ? AND period = ? "
            "AND (status = 'sent' OR retry_at IS NULL OR retry_at > ?)",
            (guild_id, kind, period, to_db_time(self.clock.now())),
        )
        return held is None

    async def was_sent(self, guild_id: int, kind: str, period: str) -> bool:
        status = await self.db.fetch_value(
            "SELECT status FROM scheduled_posts WHERE guild_id = ? AND kind = ? AND period = ?",
            (guild_id, kind, period),
        )
        return status == "sent"

    # --- Keys that name a member (MemberDataSource) ------------------------------------

    @staticmethod
    def _member_match(user_id: int) -> tuple[str, tuple[Any, ...]]:
        kinds = ", ".join("?" * len(MEMBER_KINDS))
        return (
            f"kind IN ({kinds}) AND (period LIKE ? OR period LIKE ?)",
            (*MEMBER_KINDS, f"{user_id}:%", f"%:{user_id}:%"),
        )

    async def export_member(self, user_id: int) -> dict[str, Any]:
        where, params = self._member_match(user_id)
        rows = await self.db.fetch_all(
            f"SELECT guild_id, kind, period, status, claimed_at, sent_at FROM scheduled_posts"
            f" WHERE {where} ORDER BY claimed_at",
            params,
        )
        return {"reminders_and_nudges_sent": [dict(row) for row in rows]}

    async def delete_member(self, user_id: int) -> int:
        where, params = self._member_match(user_id)
        return await self.db.execute(f"DELETE FROM scheduled_posts WHERE {where}", params)

    async def delete_guild(self, guild_id: int) -> int:
        """Nothing here: a server's post keys go with its settings (privacy.CORE_GUILD_TABLES)."""
        return 0

    async def expire_member_keys(self, now: datetime) -> int:
        """Delete the keys of posts to members that are older than MEMBER_KEY_DAYS."""
        kinds = ", ".join("?" * len(MEMBER_KINDS))
        return await self.db.execute(
            f"DELETE FROM scheduled_posts WHERE kind IN ({kinds}) AND claimed_at < ?",
            (*MEMBER_KINDS, to_db_time(now - timedelta(days=MEMBER_KEY_DAYS))),
        )
