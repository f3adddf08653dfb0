"""A member's portfolio data: export it, or erase it keeping only anonymous scores."""

from __future__ import annotations

from typing import Any

from bot.clock import from_db_time, to_db_time
from bot.services.member_posts import Cleanup, queue_cleanups
from bot.services.portfolio.base import PortfolioBase
from bot.services.portfolio.models import Request, Review

# Stored in place of a review's text when its author erases their data.
ERASED = "(removed at the reviewer's request)"
ANONYMOUS = 0


class MemberData(PortfolioBase):
    """The `MemberDataSource` side of the portfolio service."""

    privacy_section = "portfolio"

    async def export_member(self, user_id: int) -> dict[str, Any]:
        own = await self.db.fetch_all(
            "SELECT * FROM portfolio_requests WHERE owner_id = ? ORDER BY id", (user_id,)
        )
        requests = []
        for row in own:
            request = Request.from_row(row)
            review = await self.review_of(request.id)
            requests.append(
                {
                    **_request_json(request),
                    "review_received": None if review is None else _review_json(review),
                }
            )
        written = await self.db.fetch_all(
            "SELECT * FROM portfolio_reviews WHERE reviewer_id = ? ORDER BY id", (user_id,)
        )
        claimed = await self.db.fetch_all(
            "SELECT id, guild_id, status, claimed_at FROM portfolio_requests "
            "WHERE reviewer_id = ? AND owner_id <> ? ORDER BY id",
            (user_id, user_id),
        )
        return {
            "requests": requests,
            "reviews_written": [_review_json(Review.from_row(row)) for row in written],
            "requests_reviewed_or_claimed": [
                {
                    "request_id": row["id"],
                    "guild_id": row["guild_id"],
                    "status": row["status"],
                    "claimed_at": _iso(row["claimed_at"]),
                }
                for row in claimed
            ],
        }

    async def delete_member(self, user_id: int) -> int:
        """Erase the member's requests; anonymise reviews they wrote; free their claims.

        The posts quoting them go too: their requests' posts (threads renamed) and the
        reviews posted in them, and the reviews they wrote in others' threads.
        """
        now = self.now()
        total = 0
        async with self.db.transaction() as conn:
            posts = await conn.fetch_all(
                "SELECT post_channel_id, message_id, thread_id FROM portfolio_requests"
                " WHERE owner_id = ?",
                (user_id,),
            )
            reviews = await conn.fetch_all(
                "SELECT q.thread_id, r.message_id FROM portfolio_reviews r"
                " JOIN portfolio_requests q ON q.id = r.request_id"
                " WHERE q.owner_id = ? OR r.reviewer_id = ?",
                (user_id, user_id),
            )
            await queue_cleanups(
                conn,
                [(p[0], p[1], Cleanup.DELETE) for p in posts]
                + [(p[2], p[2], Cleanup.RENAME) for p in posts]
                + [(r[0], r[1], Cleanup.DELETE) for r in reviews],
            )
            # Counted first: rows removed by ON DELETE CASCADE don't show in rowcount.
            total += await conn.fetch_value(
                "SELECT (SELECT count(*) FROM portfolio_requests WHERE owner_id = ?) + "
                "(SELECT count(*) FROM portfolio_reviews WHERE request_id IN "
                " (SELECT id FROM portfolio_requests WHERE owner_id = ?))",
                (user_id, user_id),
            )
            await conn.execute("DELETE FROM portfolio_requests WHERE owner_id = ?", (user_id,))
            changed = await conn.execute(
                "UPDATE portfolio_reviews SET reviewer_id = ?, strengths = ?, improvements = ? "
                "WHERE reviewer_id = ?",
                (ANONYMOUS, ERASED, ERASED, user_id),
            )
            total += changed
            changed = await conn.execute(
                "UPDATE portfolio_requests SET status = 'open', reviewer_id = NULL, "
                "claimed_at = NULL, open_since = ?, nudged_at = NULL, reminded_at = NULL, "
                "post_version = post_version + 1 WHERE reviewer_id = ? AND status = 'claimed'",
                (to_db_time(now), user_id),
            )
            total += changed
            changed = await conn.execute(
                "UPDATE portfolio_requests SET reviewer_id = ?, post_version = post_version + 1 "
                "WHERE reviewer_id = ? AND status = 'reviewed'",
                (ANONYMOUS, user_id),
            )
            total += changed
            changed = await conn.execute(
                "UPDATE portfolio_requests SET reviewer_id = NULL WHERE reviewer_id = ?",
                (user_id,),
            )
            total += changed
        return total

    async def delete_guild(self, guild_id: int) -> int:
        async with self.db.transaction() as conn:
            total = await conn.fetch_value(
                "SELECT (SELECT count(*) FROM portfolio_requests WHERE guild_id = ?) + "
                "(SELECT count(*) FROM portfolio_reviews WHERE guild_id = ?)",
                (guild_id, guild_id),
            )
            await conn.execute("DELETE FROM portfolio_reviews WHERE guild_id = ?", (guild_id,))
            await conn.execute("DELETE FROM portfolio_requests WHERE guild_id = ?", (guild_id,))
        return total


def _iso(value: str | None) -> str | None:
    return None if value is None else from_db_time(value).isoformat()


def _request_json(request: Request) -> dict[str, Any]:
    return {
        "id": request.id,
        "guild_id": request.guild_id,
        "round": request.round,
        "previous_id": request.previous_id,
        "archetype": request.archetype,
        "title": request.title,
        "repo_url": request.repo_url,
        "demo_url": request.demo_url,
        "description": request.description,
        "feedback_wanted": request.feedback_wanted,
        "change_note": request.change_note,
        "self_check": request.self_check,
        "status": str(request.status),
        "created_at": request.created_at.isoformat(),
        "closed_at": request.closed_at.isoformat() if request.closed_at else None,
    }


def _review_json(review: Review) -> dict[str, Any]:
    return {
        "request_id": review.request_id,
        "guild_id": review.guild_id,
        "scores": dict(review.scores),
        "strengths": review.strengths,
        "improvements": review.improvements,
        "created_at": review.created_at.isoformat(),
        "helpful": review.helpful,
        "rating_comment": review.rating_comment,
    }
