"""Leaderboards of one server: streaks, check-in days and milestones, per week, month or ever.

Check-in days and milestones come from the period counters; streaks from the members:
this week's and this month's board ranks the live streaks of members who checked in in
that period, the all-time board the best streaks. Every board is read through an index in
rank order, so a page costs about the same with fifty members or fifty thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.clock import Clock, to_db_time
from bot.db import Database
from bot.errors import DomainError
from bot.services.roadmap.dates import ALL_TIME, local_date, monday, month_key, week_key
from bot.timezones import parse_timezone


class Board(StrEnum):
    STREAKS = "streaks"
    CHECKINS = "checkins"
    MILESTONES = "milestones"


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


# Column names come from this table only, never from input.
COLUMN = {Board.CHECKINS: "days", Board.MILESTONES: "milestones"}
LIVE_STREAKS = (
    "FROM roadmap_members WHERE guild_id = ? AND current_streak > 0 AND last_date >= ? "
    "AND (alive_until IS NULL OR alive_until > ?)"
)
BEST_STREAKS = "FROM roadmap_members WHERE guild_id = ? AND best_streak > 0"
BOARD_LABELS = {
    Board.STREAKS: "Streaks",
    Board.CHECKINS: "Check-in days",
    Board.MILESTONES: "Milestones",
}
PERIOD_LABELS = {Period.WEEK: "this week", Period.MONTH: "this month", Period.ALL: "all time"}


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    user_id: int
    value: int
    checkins: int


@dataclass(frozen=True)
class LeaderboardPage:
    board: Board
    period: Period
    page: int
    has_next: bool
    rows: tuple[LeaderRow, ...]


class LeaderboardService:
    def __init__(self, db: Database, clock: Clock, page_size: int) -> None:
        self.db = db
        self.clock = clock
        self.page_size = page_size

    async def _period(self, guild_id: int, period: Period) -> tuple[str, date]:
        """The counters' key for the period, and its first day, in the server's calendar."""
        zone = await self.db.fetch_value(
            "SELECT timezone FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        today = local_date(self.clock.now(), parse_timezone(zone or "UTC"))
        if period is Period.WEEK:
            return week_key(today), monday(today)
        if period is Period.MONTH:
            return month_key(today), today.replace(day=1)
        return ALL_TIME, date.min

    async def page(
        self, guild_id: int, board: Board | str, period: Period | str, page: int = 1
    ) -> LeaderboardPage:
        try:
            board, period = Board(board), Period(period)
        except ValueError:
            raise DomainError("There is no such leaderboard.") from None
        if page < 1:
            raise DomainError("Pages start at 1.")
        key, first_day = await self._period(guild_id, period)
        size = self.page_size
        offset = (page - 1) * size
        if board is not Board.STREAKS:
            column = COLUMN[board]
            source = f"FROM roadmap_period_stats WHERE guild_id = ? AND period = ? AND {column} > 0"
            select = f"SELECT user_id, {column}, checkins {source} ORDER BY {column} DESC, user_id"
            params: tuple = (guild_id, key)
        elif period is Period.ALL:
            source = BEST_STREAKS
            select = (
                f"SELECT user_id, best_streak, checkins_total {source} "
                "ORDER BY best_streak DESC, user_id"
            )
            params = (guild_id,)
        else:
            source = LIVE_STREAKS
            select = (
                f"SELECT user_id, current_streak, checkins_total {source} "
                "ORDER BY current_streak DESC, user_id"
            )
            params = (guild_id, first_day.isoformat(), to_db_time(self.clock.now()))

        # One row more than a page says whether there is a next page; the full count is
        # only needed (and only paid for) when a member asks for a page past the end.
        rows = await self.db.fetch_all(f"{select} LIMIT ? OFFSET ?", (*params, size + 1, offset))
        if not rows and page > 1:
            total = await self.db.fetch_value(f"SELECT count(*) {source}", params)
            pages = max(1, -(-total // size))
            noun = "page" if pages == 1 else "pages"
            raise DomainError(f"That board has only {pages} {noun}: try page 1 to {pages}.")
        return LeaderboardPage(
            board=board,
            period=period,
            page=page,
            has_next=len(rows) > size,
            rows=tuple(
                LeaderRow(offset + i + 1, r[0], r[1], r[2]) for i, r in enumerate(rows[:size])
            ),
        )
