"""What every part of the portfolio service shares: rules, clock, loading a request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database, Transaction
from bot.errors import NotFound
from bot.services.portfolio.models import Request, Review
from bot.services.portfolio.rubric import Rubric
from bot.shards import EVERY_SHARD, ShardScope

SELECT_REQUEST = "SELECT * FROM portfolio_requests WHERE id = ? AND guild_id = ?"


@dataclass(frozen=True)
class PortfolioRules:
    """The limits and timings of portfolio reviews (from the PORTFOLIO_* settings)."""

    max_open: int = 2
    nudge_after: timedelta = timedelta(hours=48)
    nudge_max_listed: int = 10
    remind_after: timedelta = timedelta(hours=72)
    return_after: timedelta = timedelta(days=7)
    expire_after: timedelta = timedelta(days=30)
    credit_window: timedelta = timedelta(days=30)
    credit_per_review: timedelta = timedelta(hours=24)
    credit_max_reviews: int = 3
    page_size: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> PortfolioRules:
        return cls(
            max_open=settings.portfolio_max_open_requests,
            nudge_after=timedelta(hours=settings.portfolio_unclaimed_nudge_hours),
            nudge_max_listed=settings.portfolio_nudge_max_listed,
            remind_after=timedelta(hours=settings.portfolio_review_reminder_hours),
            return_after=timedelta(days=settings.portfolio_claim_return_days),
            expire_after=timedelta(days=settings.portfolio_expiry_days),
            credit_window=timedelta(days=settings.portfolio_give_to_get_window_days),
            credit_per_review=timedelta(hours=settings.portfolio_give_to_get_hours_per_review),
            credit_max_reviews=settings.portfolio_give_to_get_max_reviews,
            page_size=settings.portfolio_queue_page_size,
        )


class PortfolioBase:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        rules: PortfolioRules,
        rubric: Rubric,
        *,
        shards: ShardScope = EVERY_SHARD,
    ) -> None:
        self.db = db
        self.clock = clock
        self.rules = rules
        self.rubric = rubric
        self.shards = shards  # the scheduled upkeep is of this process's servers only

    def now(self) -> datetime:
        return self.clock.now()

    async def get(self, guild_id: int, request_id: int) -> Request:
        """One request of this server, or NotFound."""
        row = await self.db.fetch_one(SELECT_REQUEST, (request_id, guild_id))
        if row is None:
            raise not_found(request_id)
        return Request.from_row(row)

    async def review_of(self, request_id: int) -> Review | None:
        row = await self.db.fetch_one(
            "SELECT * FROM portfolio_reviews WHERE request_id = ?", (request_id,)
        )
        return None if row is None else Review.from_row(row)


async def load_in(conn: Transaction, guild_id: int, request_id: int) -> Request:
    """Load a request inside an open transaction."""
    row = await conn.fetch_one(SELECT_REQUEST, (request_id, guild_id))
    if row is None:
        raise not_found(request_id)
    return Request.from_row(row)


def not_found(request_id: int) -> NotFound:
    return NotFound(f"There is no portfolio review request #{request_id} in this server.")
