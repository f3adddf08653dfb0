"""Exactly-once bookkeeping for scheduled posts, keyed by (guild, kind, period).

A post is claimed before it is sent and marked sent (or skipped) after. A claim is a lease:
it holds the post for `LEASE`, so a process that dies between its claim and its mark leaves
a post that is claimed again once the lease has run out, never one that is skipped. A try
that is not the first may have reached Discord before it failed or died, so the sender looks
for the post first (see `Claim.retry` and bot/delivery.py).

Most posts belong to a server (a daily challenge, a digest). Posts to one member are keyed
by a period that starts with their id: `<user_id>:<day>`, or `<from>:<to>:<day>` for a
buddy request's ping. Those keys are personal data: exported, erased with the member, and
deleted after MEMBER_KEY_DAYS, when no restart can need them any more.

A post that announces a change of state (a portfolio request returned to the queue,
expired, reviewed...) is planned in the transaction that makes the change (`plan`): a
crash after the commit leaves the post due, never forgotten, and the capability's job finds
it with `due`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, to_db_time
from bot.db import Database, Transaction
from bot.discord_limits import NONCE
from bot.shards import EVERY_SHARD, ShardScope

REMIND_KIND = "roadmap:remind"
NUDGE_KIND = "roadmap:nudge"
BUDDY_PING_KIND = "roadmap:buddy-ping"
# DMs about a portfolio request to someone it no longer names: `<user_id>:<request_id>...`
RETURNED_DM_KIND = "portfolio:returned-dm"
WITHDRAWN_DM_KIND = "portfolio:withdrawn-dm"
TRANSFER_TO_KIND = "portfolio:transfer-to"
TRANSFER_FROM_KIND = "portfolio:transfer-from"
MEMBER_KINDS = (
    REMIND_KIND,
    NUDGE_KIND,
    BUDDY_PING_KIND,
    RETURNED_DM_KIND,
    WITHDRAWN_DM_KIND,
    TRANSFER_TO_KIND,
    TRANSFER_FROM_KIND,
)
MEMBER_KEY_DAYS = 7

FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
# Longer than any one send may take (discord.py waits out 429s and retries 5xx within it).
LEASE = timedelta(minutes=5)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failed attempt, at most an hour.

    A server whose channel is gone costs Discord one refused request per retry; Discord
    bans bots that make too many, so failures back off instead of retrying every tick.
    """
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


@dataclass(frozen=True)
class PostKey:
    guild_id: int
    kind: str
    period: str

    def nonce(self, target: int = 0) -> str:
        """The same text on every try of this post to the same target: Discord refuses a
        second message with the same nonce for a few minutes (`enforce_nonce`)."""
        text = f"{self.guild_id}:{self.kind}:{self.period}:{target}"
        return hashlib.sha256(text.encode()).hexdigest()[:NONCE]


@dataclass(frozen=True)
class Claim:
    key: PostKey
    attempt: int  # 1 for the first try

    @property
    def retry(self) -> bool:
        """An earlier try may have reached Discord (it failed, timed out or its process died)."""
        return self.attempt > 1

    def __bool__(self) -> bool:
        return True


async def plan(tx: Transaction, key: PostKey, now: datetime) -> None:
    """Make the post `key` due now, inside the caller's transaction (the change it announces).

    It is a claim nobody holds (no attempt yet, its lease over): the first `claim` wins it
    as a first try. Planned twice, it stays one post.
    """
    await tx.execute(
        "INSERT INTO scheduled_posts (guild_id, kind, period, status, claimed_at, attempts, "
        "retry_at) VALUES (?, ?, ?, 'claimed', ?, 0, ?) "
        "ON CONFLICT (guild_id, kind, period) DO NOTHING",
        (key.guild_id, key.kind, key.period, now, now),
    )


class ScheduledPosts:
    """Claim a post before sending it; mark it sent or skipped after, or release it to retry.

    A claim is an `INSERT` on the primary key (guild, kind, period), or an `UPDATE` of a row
    whose lease or back-off has run out, so two ticks, two processes or a restart can never
    both hold the same post.
    """

    privacy_section = "scheduled_posts"

    def __init__(self, db: Database, clock: Clock, *, shards: ShardScope = EVERY_SHARD) -> None:
        self.db = db
        self.clock = clock
        self.shards = shards  # `due` retries the posts of this process's servers only

    async def claim(self, guild_id: int, kind: str, period: str) -> Claim | None:
        """The claim when this caller now owns the post and must send it; else None."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            row = await tx.fetch_one(
                "INSERT INTO scheduled_posts AS p "
                "(guild_id, kind, period, status, claimed_at, attempts, retry_at) "
                "VALUES (?, ?, ?, 'claimed', ?, 1, ?) "
                "ON CONFLICT (guild_id, kind, period) DO UPDATE SET "
                "claimed_at = excluded.claimed_at, retry_at = excluded.retry_at, "
                "attempts = p.attempts + 1 "
                "WHERE p.status = 'claimed' AND p.retry_at <= ? "
                "RETURNING attempts",
                (guild_id, kind, period, now, now + LEASE, now),
            )
        if row is None:
            return None
        return Claim(PostKey(guild_id, kind, period), row[0])

    async def mark_sent(
        self, guild_id: int, kind: str, period: str, message_id: int | None = None
    ) -> None:
        await self.db.execute(
            "UPDATE scheduled_posts SET status = 'sent', message_id = ?, sent_at = ?, "
            "retry_at = NULL WHERE guild_id = ? AND kind = ? AND period = ?",
            (message_id, to_db_time(self.clock.now()), guild_id, kind, period),
        )

    async def mark_skipped(self, guild_id: int, kind: str, period: str, reason: str) -> None:
        """Done without a message: Discord refused it for good (or there is nowhere to post)."""
        await self.db.execute(
            "UPDATE scheduled_posts SET status = 'sent', message_id = NULL, sent_at = ?, "
            "retry_at = NULL, skip_reason = ? WHERE guild_id = ? AND kind = ? AND period = ?",
            (to_db_time(self.clock.now()), reason[:200], guild_id, kind, period),
        )

    async def release(self, guild_id: int, kind: str, period: str) -> None:
        """Give a claimed post back (sending failed): a later tick tries again after a back-off."""
        async with self.db.transaction() as conn:
            row = await conn.fetch_one(
                "SELECT attempts FROM scheduled_posts WHERE guild_id = ? AND kind = ? "
                "AND period = ? AND status = 'claimed'",
                (guild_id, kind, period),
            )
            if row is None:
                return
            await conn.execute(
                "UPDATE scheduled_posts SET retry_at = ? "
                "WHERE guild_id = ? AND kind = ? AND period = ? AND status = 'claimed'",
                (to_db_time(self.clock.now() + retry_delay(row[0])), guild_id, kind, period),
            )

    async def due(self, kinds: tuple[str, ...], now: datetime, limit: int) -> list[PostKey]:
        """Planned or failed posts of these kinds that nobody holds now, oldest first."""
        marks = ", ".join("?" * len(kinds))
        rows = await self.db.fetch_all(
            "SELECT guild_id, kind, period FROM scheduled_posts "
            f"WHERE status = 'claimed' AND kind IN ({marks}) AND retry_at <= ? "
            f"AND {self.shards.sql('guild_id')} ORDER BY retry_at LIMIT ?",
            (*kinds, to_db_time(now), limit),
        )
        return [PostKey(row[0], row[1], row[2]) for row in rows]

    async def is_open(self, guild_id: int, kind: str, period: str) -> bool:
        """True when nobody holds the post: never claimed, or its lease or back-off is over."""
        held = await self.db.fetch_value(
            "SELECT 1 FROM scheduled_posts WHERE guild_id = ? AND kind = ? AND period = ? "
            "AND (status = 'sent' OR retry_at > ?)",
            (guild_id, kind, period, to_db_time(self.clock.now())),
        )
        return held is None

    def unheld_sql(self, guild: str, kind: str, period: str) -> tuple[str, tuple[str, ...]]:
        """`is_open` as a condition for a query over many servers at once, and its parameters:
        `guild` and `period` are the query's own SQL expressions, `kind` a parameter."""
        return (
            "NOT EXISTS (SELECT 1 FROM scheduled_posts held WHERE held.guild_id = "
            f"{guild} AND held.kind = ? AND held.period = {period} "
            "AND (held.status = 'sent' OR held.retry_at > ?))",
            (kind, to_db_time(self.clock.now())),
        )

    async def was_sent(self, guild_id: int, kind: str, period: str) -> bool:
        """Done: sent, or skipped for good."""
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
