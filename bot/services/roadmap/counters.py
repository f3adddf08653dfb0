"""Per-period counters (week, month, all time) that leaderboards and the digest read."""

from __future__ import annotations

from datetime import date

from bot.db import Transaction
from bot.services.roadmap.dates import period_keys

ROW = "(?, ?, ?, ?, ?, ?, ?, ?)"


def bump_sql(rows: int, returning: str = "period, days") -> str:
    """The upsert of `rows` counter rows (at most one per member and period)."""
    return (
        "INSERT INTO roadmap_period_stats AS s (guild_id, user_id, period, checkins, days, "
        f"minutes, milestones, streak_max) VALUES {', '.join([ROW] * rows)} "
        "ON CONFLICT (guild_id, user_id, period) DO UPDATE SET "
        "checkins = s.checkins + excluded.checkins, days = s.days + excluded.days, "
        "minutes = s.minutes + excluded.minutes, milestones = s.milestones + excluded.milestones, "
        "streak_max = CASE WHEN excluded.streak_max > s.streak_max THEN excluded.streak_max "
        f"ELSE s.streak_max END RETURNING {returning}"
    )


BUMP_SQL = bump_sql(3)


def bump_rows(
    guild_id: int,
    user_id: int,
    day: date,
    checkins: int,
    days: int,
    minutes: int,
    milestones: int,
    streak: int,
) -> list[object]:
    """The parameters of `day`'s three counter rows (week, month, all time)."""
    params: list[object] = []
    for period in period_keys(day):
        params += [guild_id, user_id, period, checkins, days, minutes, milestones, streak]
    return params


async def bump_periods(
    tx: Transaction,
    guild_id: int,
    user_id: int,
    day: date,
    *,
    checkins: int = 0,
    days: int = 0,
    minutes: int = 0,
    milestones: int = 0,
    streak: int = 0,
) -> dict[str, int]:
    """Add to the week, month and all-time counters of `day`; returns each period's days."""
    params = bump_rows(guild_id, user_id, day, checkins, days, minutes, milestones, streak)
    rows = await tx.fetch_all(BUMP_SQL, params)
    return {row[0]: row[1] for row in rows}
