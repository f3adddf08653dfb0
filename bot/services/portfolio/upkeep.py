"""What the scheduler asks: nudges, reminders, claims that ran out, expiry, stale posts.

Returns and expiries are state changes that only one caller can win (a conditional
UPDATE); the same transaction plans the posts that announce them (notices.py), so a
crash right after the change cannot lose them. Nudges and reviewer reminders are sent once
through the scheduled-post helper (bot/delivery.py), which records them here after sending.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from bot.clock import to_db_time
from bot.services.portfolio.base import PortfolioBase, load_in
from bot.services.portfolio.models import Reminder, Request, Transition
from bot.services.portfolio.notices import EXPIRED_DM_KIND, EXPIRED_KIND, RETURNED_KIND, plan_notice
from bot.services.scheduled_posts import RETURNED_DM_KIND

BATCH = 100
POSTS_PER_TICK = 20


class Upkeep(PortfolioBase):
    async def unclaimed_due(self, now: datetime) -> dict[int, list[Request]]:
        """Per server, open requests unclaimed past the nudge delay and not yet raised."""
        rows = await self.db.fetch_all(
            "SELECT * FROM portfolio_requests WHERE status = 'open' AND open_since <= ? "
            f"AND nudged_at IS NULL AND {self.shards.sql('guild_id')} "
            "ORDER BY guild_id, queue_at, id LIMIT ?",
            (to_db_time(now - self.rules.nudge_after), BATCH * 10),
        )
        due: dict[int, list[Request]] = defaultdict(list)
        for row in rows:
            due[row["guild_id"]].append(Request.from_row(row))
        return dict(due)

    async def mark_nudged(self, request_ids: list[int], now: datetime) -> None:
        if not request_ids:
            return
        marks = ", ".join("?" for _ in request_ids)
        await self.db.execute(
            f"UPDATE portfolio_requests SET nudged_at = ? WHERE id IN ({marks}) "
            "AND status = 'open'",
            (to_db_time(now), *request_ids),
        )

    async def reminders_due(self, now: datetime) -> list[Request]:
        rows = await self.db.fetch_all(
            "SELECT * FROM portfolio_requests WHERE status = 'claimed' AND claimed_at <= ? "
            f"AND reminded_at IS NULL AND {self.shards.sql('guild_id')} "
            "ORDER BY claimed_at LIMIT ?",
            (to_db_time(now - self.rules.remind_after), BATCH),
        )
        return [Request.from_row(row) for row in rows]

    async def claim_reminder(self, request: Request, now: datetime) -> Reminder | None:
        """Record that this claim's reviewer was reminded; None when it was already done.

        The message itself goes out once through the scheduled-post helper (its key is the
        request and the claim's time), which calls this after sending.
        """
        changed = await self.db.execute(
            "UPDATE portfolio_requests SET reminded_at = ? WHERE id = ? AND status = 'claimed' "
            "AND reviewer_id = ? AND claimed_at = ? AND reminded_at IS NULL",
            (
                to_db_time(now),
                request.id,
                request.reviewer_id,
                to_db_time(request.claimed_at) if request.claimed_at else None,
            ),
        )
        if changed != 1 or request.reviewer_id is None:
            return None
        return Reminder(request, request.reviewer_id)

    async def return_stale_claims(self, now: datetime) -> list[Transition]:
        """Claims held past the limit without a review go back to the queue; each return
        plans its notice in the thread and its DM to the reviewer."""
        cutoff = to_db_time(now - self.rules.return_after)
        rows = await self.db.fetch_all(
            "SELECT id, guild_id FROM portfolio_requests WHERE status = 'claimed' "
            f"AND claimed_at <= ? AND {self.shards.sql('guild_id')} "
            "ORDER BY claimed_at LIMIT ?",
            (cutoff, BATCH),
        )
        returned = []
        for row in rows:
            async with self.db.transaction() as tx:
                before = await load_in(tx, row["guild_id"], row["id"])
                if before.claimed_at is None or before.reviewer_id is None:
                    continue
                claimed_at = to_db_time(before.claimed_at)
                changed = await tx.execute(
                    "UPDATE portfolio_requests SET status = 'open', reviewer_id = NULL, "
                    "claimed_at = NULL, open_since = ?, nudged_at = NULL, reminded_at = NULL, "
                    "returned_count = returned_count + 1, post_version = post_version + 1 "
                    "WHERE id = ? AND status = 'claimed' AND reviewer_id = ? AND claimed_at = ? "
                    "AND claimed_at <= ?",
                    (to_db_time(now), before.id, before.reviewer_id, claimed_at, cutoff),
                )
                if changed != 1:
                    continue
                when = before.claimed_at
                await plan_notice(tx, RETURNED_KIND, before, now, claimed_at=when)
                reviewer = before.reviewer_id
                await plan_notice(
                    tx, RETURNED_DM_KIND, before, now, recipient=reviewer, claimed_at=when
                )
                request = await load_in(tx, before.guild_id, before.id)
            returned.append(Transition(request, before.reviewer_id))
        return returned

    async def expire_stale(self, now: datetime) -> list[Request]:
        """Open requests nobody claimed within the expiry time are closed as expired; each
        expiry plans its notice in the thread and its DM to the owner."""
        cutoff = to_db_time(now - self.rules.expire_after)
        rows = await self.db.fetch_all(
            "SELECT id, guild_id FROM portfolio_requests WHERE status = 'open' "
            f"AND open_since <= ? AND {self.shards.sql('guild_id')} "
            "ORDER BY open_since LIMIT ?",
            (cutoff, BATCH),
        )
        expired = []
        for row in rows:
            async with self.db.transaction() as tx:
                changed = await tx.execute(
                    "UPDATE portfolio_requests SET status = 'expired', closed_at = ?, "
                    "post_version = post_version + 1 "
                    "WHERE id = ? AND status = 'open' AND open_since <= ?",
                    (to_db_time(now), row["id"], cutoff),
                )
                if changed != 1:
                    continue
                request = await load_in(tx, row["guild_id"], row["id"])
                for kind in (EXPIRED_KIND, EXPIRED_DM_KIND):
                    await plan_notice(tx, kind, request, now)
                expired.append(request)
        return expired

    async def stale_posts(self, limit: int = POSTS_PER_TICK) -> list[Request]:
        """Requests whose post shows an older state than the database (an edit failed)."""
        rows = await self.db.fetch_all(
            "SELECT * FROM portfolio_requests WHERE post_synced_version < post_version "
            f"AND message_id IS NOT NULL AND {self.shards.sql('guild_id')} ORDER BY id LIMIT ?",
            (limit,),
        )
        return [Request.from_row(row) for row in rows]

    async def mark_post_synced(self, request_id: int, version: int) -> None:
        await self.db.execute(
            "UPDATE portfolio_requests SET post_synced_version = ? "
            "WHERE id = ? AND post_synced_version < ?",
            (version, request_id, version),
        )

    async def forget_post(self, request_id: int) -> None:
        """The post was deleted on Discord: stop trying to edit it (its thread may live on)."""
        await self.db.execute(
            "UPDATE portfolio_requests SET message_id = NULL, post_channel_id = NULL WHERE id = ?",
            (request_id,),
        )

    async def forget_thread(self, request_id: int) -> None:
        await self.db.execute(
            "UPDATE portfolio_requests SET thread_id = NULL WHERE id = ?", (request_id,)
        )
