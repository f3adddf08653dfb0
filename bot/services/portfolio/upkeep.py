"""What the scheduler asks: nudges, reminders, claims that ran out, expiry, stale posts.

Returns and expiries are state changes that only one caller can win (a conditional
UPDATE). Nudges and reviewer reminders are sent once through the scheduled-post helper
(bot/delivery.py), which records them here after sending.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from bot.clock import to_db_time
from bot.services.portfolio.base import PortfolioBase
from bot.services.portfolio.models import Reminder, Request, Transition

BATCH = 100
POSTS_PER_TICK = 20


class Upkeep(PortfolioBase):
    async def unclaimed_due(self, now: datetime) -> dict[int, list[Request]]:
        """Per server, open requests unclaimed past the nudge delay and not yet raised."""
        rows = await self.db.fetch_all(
            "SELECT * FROM portfolio_requests WHERE status = 'open' AND open_since <= ? "
            "AND nudged_at IS NULL ORDER BY guild_id, queue_at, id "
            "LIMIT ?",
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
            "AND reminded_at IS NULL ORDER BY claimed_at LIMIT ?",
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
        """Claims held past the limit without a review go back to the queue."""
        cutoff = to_db_time(now - self.rules.return_after)
        rows = await self.db.fetch_all(
            "SELECT id, guild_id, reviewer_id FROM portfolio_requests WHERE status = 'claimed' "
            "AND claimed_at <= ? ORDER BY claimed_at LIMIT ?",
            (cutoff, BATCH),
        )
        returned = []
        for row in rows:
            changed = await self.db.execute(
                "UPDATE portfolio_requests SET status = 'open', reviewer_id = NULL, "
                "claimed_at = NULL, open_since = ?, nudged_at = NULL, reminded_at = NULL, "
                "returned_count = returned_count + 1, post_version = post_version + 1 "
                "WHERE id = ? AND status = 'claimed' AND reviewer_id = ? AND claimed_at <= ?",
                (to_db_time(now), row["id"], row["reviewer_id"], cutoff),
            )
            if changed == 1:
                request = await self.get(row["guild_id"], row["id"])
                returned.append(Transition(request, row["reviewer_id"]))
        return returned

    async def expire_stale(self, now: datetime) -> list[Request]:
        """Open requests nobody claimed within the expiry time are closed as expired."""
        cutoff = to_db_time(now - self.rules.expire_after)
        rows = await self.db.fetch_all(
            "SELECT id, guild_id FROM portfolio_requests WHERE status = 'open' "
            "AND open_since <= ? ORDER BY open_since LIMIT ?",
            (cutoff, BATCH),
        )
        expired = []
        for row in rows:
            changed = await self.db.execute(
                "UPDATE portfolio_requests SET status = 'expired', closed_at = ?, "
                "post_version = post_version + 1 "
                "WHERE id = ? AND status = 'open' AND open_since <= ?",
                (to_db_time(now), row["id"], cutoff),
            )
            if changed == 1:
                expired.append(await self.get(row["guild_id"], row["id"]))
        return expired

    async def stale_posts(self, limit: int = POSTS_PER_TICK) -> list[Request]:
        """Requests whose post shows an older state than the database (an edit failed)."""
        rows = await self.db.fetch_all(
            "SELECT * FROM portfolio_requests WHERE post_synced_version < post_version "
            "AND message_id IS NOT NULL ORDER BY id LIMIT ?",
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
