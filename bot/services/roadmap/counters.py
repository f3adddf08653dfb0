"""Per-period counters (week, month, all time) that leaderboards and the digest read."""

from __future__ import annotations

import sqlite3
from datetime import date

from bot.services.roadmap.dates import period_keys

BUMP_SQL = (
    "INSERT INTO roadmap_period_stats (guild_id, user_id, period, checkins, days, minutes, "
    "milestones, streak_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?, ?), "
    "(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id, period) DO UPDATE SET "
    "checkins = checkins + excluded.checkins, days = days + excluded.days, "
    "minutes = minutes + excluded.minutes, milestones = milestones + excluded.milestones, "
    "streak_max = max(streak_max, excluded.streak_max) RETURNING period, days"
)


def bump_periods(
    conn: sqlite3.Connection,
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
    params: list[object] = []
    for period in period_keys(day):
        params += [guild_id, user_id, period, checkins, days, minutes, milestones, streak]
    return {row[0]: row[1] for row in conn.execute(BUMP_SQL, params).fetchall()}
