"""Per-period counters (week, month, all time) that leaderboards and the digest read."""

from __future__ import annotations

import sqlite3
from datetime import date
from functools import cache

from bot.services.roadmap.dates import period_keys

COUNTERS = ("checkins", "days", "minutes", "milestones")


@cache
def bump_sql(changed: tuple[str, ...], with_streak: bool) -> str:
    """An upsert of three periods that sets only the counters that change.

    SQLite rewrites an index entry whenever its column is assigned, even to the same value,
    so leaving unchanged counters out keeps the leaderboard indexes untouched.
    """
    assignments = [f"{name} = {name} + excluded.{name}" for name in changed]
    if with_streak:
        assignments.append("streak_max = max(streak_max, excluded.streak_max)")
    row = "(?, ?, ?, ?, ?, ?, ?, ?)"
    return (
        "INSERT INTO roadmap_period_stats (guild_id, user_id, period, checkins, days, minutes, "
        f"milestones, streak_max) VALUES {row}, {row}, {row} "
        f"ON CONFLICT (guild_id, user_id, period) DO UPDATE SET {', '.join(assignments)} "
        "RETURNING period, days"
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
    values = {"checkins": checkins, "days": days, "minutes": minutes, "milestones": milestones}
    changed = tuple(name for name in COUNTERS if values[name])
    if not changed and not streak:
        changed = ("checkins",)  # a no-op assignment, still returning the rows
    params: list[object] = []
    for period in period_keys(day):
        params += [guild_id, user_id, period, checkins, days, minutes, milestones, streak]
    rows = conn.execute(bump_sql(changed, streak > 0), params).fetchall()
    return {row[0]: row[1] for row in rows}
