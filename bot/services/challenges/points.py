"""Points, leaderboards, streaks and member statistics, per server."""

from __future__ import annotations

from datetime import datetime

from bot.clock import Clock, to_db_time
from bot.db import Database, Row, Transaction
from bot.errors import DomainError
from bot.services.challenges.model import MemberStats, Standing
from bot.services.challenges.timeutil import month_bounds, month_start, week_start
from bot.services.guild_settings import GuildSettingsService

PERIODS = ("week", "month", "all")
STREAK_LOOKBACK = 400


async def award(
    conn: Transaction,
    *,
    guild_id: int,
    user_id: int,
    source: str,
    ref: str,
    topic: str | None,
    points: int,
    now: datetime,
) -> bool:
    """Record points once per (member, source, ref); inside the caller's transaction."""
    changed = await conn.execute(
        "INSERT INTO challenge_points (guild_id, user_id, source, ref, topic, points, awarded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (guild_id, user_id, source, ref, topic, points, to_db_time(now)),
    )
    return changed == 1


class PointsService:
    def __init__(self, db: Database, clock: Clock, guild_settings: GuildSettingsService) -> None:
        self.db = db
        self.clock = clock
        self.guild_settings = guild_settings

    async def _since(self, guild_id: int, period: str) -> datetime | None:
        if period not in PERIODS:
            raise DomainError("Pick week, month or all.")
        if period == "all":
            return None
        zone = (await self.guild_settings.get(guild_id)).zone
        now = self.clock.now()
        return week_start(now, zone) if period == "week" else month_start(now, zone)

    async def leaderboard(self, guild_id: int, period: str) -> list[Standing]:
        """Everyone with points in the period, best first (ties share a rank)."""
        since = await self._since(guild_id, period)
        return await self._standings(guild_id, since, None)

    async def month_standings(self, guild_id: int, month: str, limit: int) -> list[Standing]:
        zone = (await self.guild_settings.get(guild_id)).zone
        start, end = month_bounds(month, zone)
        return (await self._standings(guild_id, start, end))[:limit]

    async def _standings(
        self, guild_id: int, since: datetime | None, until: datetime | None
    ) -> list[Standing]:
        rows = await self.db.fetch_all(
            "SELECT user_id, SUM(points) AS total, MIN(awarded_at) AS first FROM challenge_points"
            " WHERE guild_id = ? AND awarded_at >= ? AND awarded_at < ?"
            " GROUP BY user_id HAVING SUM(points) > 0 ORDER BY total DESC, first ASC, user_id ASC",
            (
                guild_id,
                to_db_time(since) if since else "0000",
                to_db_time(until) if until else "9999",
            ),
        )
        return rank(rows)

    async def stats(self, guild_id: int, user_id: int) -> MemberStats:
        totals = {}
        for period in PERIODS:
            since = await self._since(guild_id, period)
            totals[period] = await self.db.fetch_value(
                "SELECT COALESCE(SUM(points), 0) FROM challenge_points"
                " WHERE guild_id = ? AND user_id = ? AND awarded_at >= ?",
                (guild_id, user_id, to_db_time(since) if since else "0000"),
            )
        topics = await self.db.fetch_all(
            "SELECT topic, COUNT(*) AS solved FROM challenge_points"
            " WHERE guild_id = ? AND user_id = ? AND source IN ('daily', 'task')"
            " AND topic IS NOT NULL GROUP BY topic ORDER BY solved DESC, topic",
            (guild_id, user_id),
        )
        answers = await self.db.fetch_one(
            "SELECT COUNT(*) AS answered, COALESCE(SUM(correct), 0) AS correct"
            " FROM daily_answers WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return MemberStats(
            user_id=user_id,
            total=totals["all"],
            week=totals["week"],
            month=totals["month"],
            streak=await self.streak(guild_id, user_id),
            solved_by_topic=tuple((row["topic"], row["solved"]) for row in topics),
            daily_answered=answers["answered"],
            daily_correct=answers["correct"],
        )

    async def streak(self, guild_id: int, user_id: int) -> int:
        """Consecutive daily challenges solved, newest first; today's may still be pending."""
        rows = await self.db.fetch_all(
            "SELECT p.closes_at,"
            " EXISTS (SELECT 1 FROM challenge_points c WHERE c.guild_id = p.guild_id"
            "   AND c.user_id = ? AND c.source IN ('daily', 'task') AND c.ref = CAST(p.id AS TEXT))"
            "   AS solved"
            " FROM daily_posts p WHERE p.guild_id = ? AND p.posted_at IS NOT NULL"
            " ORDER BY p.day DESC LIMIT ?",
            (user_id, guild_id, STREAK_LOOKBACK),
        )
        now = to_db_time(self.clock.now())
        streak = 0
        for index, row in enumerate(rows):
            if row["solved"]:
                streak += 1
            elif index == 0 and row["closes_at"] is not None and row["closes_at"] > now:
                continue
            else:
                break
        return streak


def rank(rows: list[Row]) -> list[Standing]:
    standings: list[Standing] = []
    for position, row in enumerate(rows, start=1):
        same = standings and standings[-1].points == row["total"]
        standings.append(
            Standing(standings[-1].rank if same else position, row["user_id"], row["total"])
        )
    return standings
