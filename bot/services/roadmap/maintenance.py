"""Recompute streaks, totals and period counters from history, and repair any drift.

The check-in path maintains these incrementally; this replays the same rules over every
check-in (`streaks.replay`) and compares. A test proves both agree on random histories.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from bot.clock import Clock, from_db_time
from bot.db import Database
from bot.services.roadmap.catalog import RoadmapCatalog
from bot.services.roadmap.content import Roadmap
from bot.services.roadmap.dates import period_keys
from bot.services.roadmap.member_state import (
    MEMBER_SQL,
    db_time,
    load_pauses,
    member_from_row,
)
from bot.services.roadmap.milestones import done_keys
from bot.services.roadmap.plan import current_phase, phase_progress
from bot.services.roadmap.streaks import StreakRules, StreakState, breaks_at, replay

BATCH = 200
COUNTERS = ("checkins", "days", "minutes", "milestones", "streak_max")
SHOWN_DIFFERENCES = 10


@dataclass(frozen=True)
class RecomputeReport:
    members: int
    repaired: int
    differences: tuple[str, ...]  # the first few, for the operator


@dataclass(frozen=True)
class Expected:
    columns: dict[str, object]
    periods: dict[str, dict[str, int]]


def expected_for(
    conn: sqlite3.Connection,
    guild_id: int,
    user_id: int,
    roadmap: Roadmap,
    rules: StreakRules,
) -> Expected:
    """What the member's maintained columns and counters should be, from history alone."""
    row = conn.execute(MEMBER_SQL, (guild_id, user_id)).fetchone()
    member = member_from_row(row)
    history = conn.execute(
        "SELECT local_date, created_at, weekly_goal, minutes FROM roadmap_checkins "
        "WHERE guild_id = ? AND user_id = ? ORDER BY id",
        (guild_id, user_id),
    ).fetchall()
    pauses = load_pauses(conn, guild_id, user_id)
    days = [(date.fromisoformat(h[0]), from_db_time(h[1]), h[2]) for h in history]
    steps = replay(days, pauses, rules)
    state = steps[-1].state if steps else StreakState()
    periods: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    seen: set[date] = set()
    for (day, _, _), h, step in zip(days, history, steps, strict=True):
        new_day = day not in seen
        seen.add(day)
        for key in period_keys(day):
            counters = periods[key]
            counters["checkins"] += 1
            counters["days"] += int(new_day)
            counters["minutes"] += h[3]
            counters["streak_max"] = max(
                counters["streak_max"], step.state.current if step.counted else 0
            )
    milestones = conn.execute(
        "SELECT done_on FROM roadmap_milestones WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ).fetchall()
    for (done_on,) in milestones:
        for key in period_keys(date.fromisoformat(done_on)):
            periods[key]["milestones"] += 1
    progress = phase_progress(roadmap, member.track, done_keys(conn, guild_id, user_id))
    columns: dict[str, object] = {
        "current_streak": state.current,
        "best_streak": state.best,
        "freezes": state.freezes,
        "last_date": state.last_date.isoformat() if state.last_date else None,
        "last_at": db_time(state.last_at),
        "run_start": state.run_start.isoformat() if state.run_start else None,
        "week_days": state.week_days,
        "alive_until": db_time(breaks_at(state, member.weekly_goal, pauses, member.zone)),
        "checkins_total": len(history),
        "checkin_days": len(seen),
        "minutes_total": sum(h[3] for h in history),
        "milestones_done": len(milestones),
        "phase": current_phase(progress) if roadmap.track(member.track) else member.phase,
    }
    return Expected(columns, {k: v for k, v in periods.items() if any(v.values())})


def actual_periods(
    conn: sqlite3.Connection, guild_id: int, user_id: int
) -> dict[str, dict[str, int]]:
    rows = conn.execute(
        "SELECT period, checkins, days, minutes, milestones, streak_max "
        "FROM roadmap_period_stats WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ).fetchall()
    found = {r[0]: dict(zip(COUNTERS, r[1:], strict=True)) for r in rows}
    return {k: v for k, v in found.items() if any(v.values())}


def differences(
    conn: sqlite3.Connection, guild_id: int, user_id: int, expected: Expected
) -> list[str]:
    row = conn.execute(MEMBER_SQL, (guild_id, user_id)).fetchone()
    found = [
        f"{guild_id}/{user_id} {name}: stored {row[name]!r}, history says {value!r}"
        for name, value in expected.columns.items()
        if row[name] != value
    ]
    if actual_periods(conn, guild_id, user_id) != expected.periods:
        found.append(f"{guild_id}/{user_id} period counters differ from history")
    return found


def repair(conn: sqlite3.Connection, guild_id: int, user_id: int, expected: Expected) -> None:
    names = list(expected.columns)
    conn.execute(
        f"UPDATE roadmap_members SET {', '.join(f'{n} = ?' for n in names)}, roles_dirty = 1 "
        "WHERE guild_id = ? AND user_id = ?",
        (*expected.columns.values(), guild_id, user_id),
    )
    conn.execute(
        "DELETE FROM roadmap_period_stats WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    conn.executemany(
        "INSERT INTO roadmap_period_stats (guild_id, user_id, period, checkins, days, minutes, "
        "milestones, streak_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (guild_id, user_id, period, *(c[name] for name in COUNTERS))
            for period, c in expected.periods.items()
        ],
    )


class MaintenanceService:
    def __init__(
        self, db: Database, clock: Clock, catalog: RoadmapCatalog, rules: StreakRules
    ) -> None:
        self.db = db
        self.clock = clock
        self.catalog = catalog
        self.rules = rules

    async def recompute(self, guild_id: int | None = None, *, fix: bool = True) -> RecomputeReport:
        """Check every member (of one server, or all) against history; repair when `fix`."""
        if guild_id is None:
            rows = await self.db.fetch_all(
                "SELECT guild_id, user_id FROM roadmap_members ORDER BY guild_id, user_id"
            )
        else:
            rows = await self.db.fetch_all(
                "SELECT guild_id, user_id FROM roadmap_members WHERE guild_id = ? ORDER BY user_id",
                (guild_id,),
            )
        keys = [(r["guild_id"], r["user_id"]) for r in rows]
        found: list[str] = []
        repaired = 0
        for start in range(0, len(keys), BATCH):
            batch = keys[start : start + BATCH]
            roadmaps = {g: await self.catalog.get(g) for g in {g for g, _ in batch}}

            def work(
                conn: sqlite3.Connection,
                batch: list[tuple[int, int]] = batch,
                roadmaps: dict[int, Roadmap] = roadmaps,
                rules: StreakRules = self.rules,
            ) -> tuple[int, list[str]]:
                fixed, notes = 0, []
                for g, u in batch:
                    if conn.execute(MEMBER_SQL, (g, u)).fetchone() is None:
                        continue  # left meanwhile
                    expected = expected_for(conn, g, u, roadmaps[g], rules)
                    diff = differences(conn, g, u, expected)
                    if diff:
                        notes.extend(diff)
                        if fix:
                            repair(conn, g, u, expected)
                            fixed += 1
                return fixed, notes

            fixed, notes = await self.db.run_transaction(work, background=True)
            repaired += fixed
            found.extend(notes)
        return RecomputeReport(len(keys), repaired, tuple(found[:SHOWN_DIFFERENCES]))
