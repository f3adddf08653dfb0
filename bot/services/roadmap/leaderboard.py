"""Leaderboards of one server: streaks, check-in days and milestones, per week, month or ever.

Each board reads the period counters through an index in rank order, so a page costs the
same with fifty members or fifty thousand.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from bot.clock import Clock
from bot.db import Database
from bot.errors import DomainError
from bot.services.roadmap.dates import ALL_TIME, local_date, month_key, week_key
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
COLUMN = {Board.STREAKS: "streak_max", Board.CHECKINS: "days", Board.MILESTONES: "milestones"}
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
    pages: int
    total: int
    rows: tuple[LeaderRow, ...]


class LeaderboardService:
    def __init__(self, db: Database, clock: Clock, page_size: int) -> None:
        self.db = db
        self.clock = clock
        self.page_size = page_size

    async def period_key(self, guild_id: int, period: Period) -> str:
        if period is Period.ALL:
            return ALL_TIME
        zone = await self.db.fetch_value(
            "SELECT timezone FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        today = local_date(self.clock.now(), parse_timezone(zone or "UTC"))
        return week_key(today) if period is Period.WEEK else month_key(today)

    async def page(
        self, guild_id: int, board: Board | str, period: Period | str, page: int = 1
    ) -> LeaderboardPage:
        board, period = Board(board), Period(period)
        if page < 1:
            raise DomainError("Pages start at 1.")
        key = await self.period_key(guild_id, period)
        column = COLUMN[board]
        size = self.page_size

        def read(conn: sqlite3.Connection) -> LeaderboardPage:
            total = conn.execute(
                f"SELECT count(*) FROM roadmap_period_stats WHERE guild_id = ? AND period = ? "
                f"AND {column} > 0",
                (guild_id, key),
            ).fetchone()[0]
            pages = max(1, -(-total // size))
            if page > pages:
                noun = "page" if pages == 1 else "pages"
                raise DomainError(f"That board has only {pages} {noun}: try page 1 to {pages}.")
            rows = conn.execute(
                f"SELECT user_id, {column}, checkins FROM roadmap_period_stats "
                f"WHERE guild_id = ? AND period = ? AND {column} > 0 "
                f"ORDER BY {column} DESC, user_id LIMIT ? OFFSET ?",
                (guild_id, key, size, (page - 1) * size),
            ).fetchall()
            offset = (page - 1) * size
            return LeaderboardPage(
                board=board,
                period=period,
                page=page,
                pages=pages,
                total=total,
                rows=tuple(LeaderRow(offset + i + 1, r[0], r[1], r[2]) for i, r in enumerate(rows)),
            )

        return await self.db.run_read(read)
