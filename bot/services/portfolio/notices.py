"""The messages a change of state owes people, planned in the change's own transaction.

A claim that ran out, an expiry, a review, a rating, a withdrawal or a transfer each owe a
message (in the request's thread, or a DM). Each is planned as a due scheduled post
(`scheduled_posts.plan`) in the transaction that makes the change, so a crash between the
commit and the message delays the message and never loses it: the cog sends what a member
just caused at once, and the notices job sends whatever is still due (bot/delivery.py:
claim, nonce, marker check after an unclean try, one failure policy).

A post's period names the request: `<request_id>`, with `:<claimed_at>` for the claim a
return or a transfer concerns. A DM to someone the request no longer names (the reviewer
whose claim ran out or who was replaced, the reviewer of a withdrawn request, the new
reviewer of a transfer) starts with their id: member data, exported, erased and expired
with the member's other keys (scheduled_posts.MEMBER_KINDS).
"""

from __future__ import annotations

from datetime import datetime

from bot.clock import from_db_time, to_db_time
from bot.db import Transaction
from bot.services.portfolio.base import PortfolioBase
from bot.services.portfolio.models import Notice, Request
from bot.services.scheduled_posts import (
    RETURNED_DM_KIND,
    TRANSFER_FROM_KIND,
    TRANSFER_TO_KIND,
    WITHDRAWN_DM_KIND,
    PostKey,
    ScheduledPosts,
    plan,
)

RETURNED_KIND = "portfolio:returned"  # in the thread: back in the queue
EXPIRED_KIND = "portfolio:expired"  # in the thread
EXPIRED_DM_KIND = "portfolio:expired-dm"  # to the owner
REVIEW_KIND = "portfolio:review"  # the review, in the thread
REVIEW_DM_KIND = "portfolio:review-dm"  # to the owner (or a mention in the thread)
RATED_DM_KIND = "portfolio:rated-dm"  # to the reviewer
ADDRESSED = (RETURNED_DM_KIND, WITHDRAWN_DM_KIND, TRANSFER_TO_KIND, TRANSFER_FROM_KIND)
NOTICE_KINDS = (
    RETURNED_KIND,
    EXPIRED_KIND,
    EXPIRED_DM_KIND,
    REVIEW_KIND,
    REVIEW_DM_KIND,
    RATED_DM_KIND,
    *ADDRESSED,
)
BATCH = 100


async def plan_notice(
    tx: Transaction,
    kind: str,
    request: Request,
    now: datetime,
    *,
    recipient: int | None = None,
    claimed_at: datetime | None = None,
) -> PostKey:
    """Plan one notice of `request`'s change, in the change's transaction."""
    period = str(request.id)
    if claimed_at is not None:
        period += f":{to_db_time(claimed_at)}"
    if kind in ADDRESSED:
        period = f"{recipient}:{period}"
    key = PostKey(request.guild_id, kind, period)
    await plan(tx, key, now)
    return key


class Notices(PortfolioBase):
    async def notices_due(self, posts: ScheduledPosts, now: datetime) -> list[Notice]:
        """Notices not sent yet: planned and not sent at once, or failed and past their
        back-off."""
        return await self.notices_of(await posts.due(NOTICE_KINDS, now, BATCH))

    async def notices_of(self, keys: tuple[PostKey, ...] | list[PostKey]) -> list[Notice]:
        """Each notice with its request as it is now (None if erased since)."""
        notices = []
        for key in keys:
            parts = key.period.split(":", 2 if key.kind in ADDRESSED else 1)
            recipient = int(parts.pop(0)) if key.kind in ADDRESSED else None
            request_id = int(parts[0])
            claimed_at = from_db_time(parts[1]) if len(parts) > 1 else None
            row = await self.db.fetch_one(
                "SELECT * FROM portfolio_requests WHERE id = ? AND guild_id = ?",
                (request_id, key.guild_id),
            )
            request = None if row is None else Request.from_row(row)
            review = await self.review_of(request_id) if request is not None else None
            notices.append(Notice(key, request_id, request, recipient, claimed_at, review))
        return notices
