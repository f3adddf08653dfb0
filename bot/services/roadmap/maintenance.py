"""Recompute streaks, totals and period counters from history, and repair any drift.

The check-in path maintains these incrementally; this replays the same rules over every
check-in (`streaks.replay`) and compares. A test proves both agree on random histories.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from bot.clock import Clock, from_db_time, to_db_time
from bot.db import Database, Transaction
from bot.services.roadmap.catalog import RoadmapCatalog
from bot.services.roadmap.content import Roadmap
from bot.services.roadmap.dates import period_keys
from bot.services.roadmap.member_state import (
    MEMBER_SQL,
    load_member,
    load_pauses,
    require_member,
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


async def expected_for(
    tx: Transaction,
    guild_id: int,
    user_id: int,
    roadmap: Roadmap,
    rules: StreakRules,
) -> Expected:
    """What the member's maintained columns and counters should be, from history alone."""
    member = await require_member(tx, guild_id, user_id)
    history = await tx.fetch_all(
        "SELECT local_date, created_at, weekly_goal, minutes FROM roadmap_checkins "
        "WHERE guild_id = ? AND user_id = ? ORDER BY id",
        (guild_id, user_id),
    )
    pauses = await load_pauses(tx, guild_id, user_id)
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
    milestones = await tx.fetch_all(
        "SELECT done_on FROM roadmap_milestones WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    for (done_on,) in milestones:
        for key in period_keys(date.fromisoformat(done_on)):
            periods[key]["milestones"] += 1
    progress = phase_progress(roadmap, member.track, await done_keys(tx, guild_id, user_id))
    columns: dict[str, object] = {
        "current_streak": state.current,
        "best_streak": state.best,
        "freezes": state.freezes,
        "last_date": state.last_date.isoformat() if state.last_date else None,
        "last_at": _db_time(state.last_at),
        "run_start": state.run_start.isoformat() if state.run_start else None,
        "week_days": state.week_days,
        "alive_until": _db_time(breaks_at(state, member.weekly_goal, pauses, member.zone)),
        "checkins_total": len(history),
        "checkin_days": len(seen),
        "minutes_total": sum(h[3] for h in history),
        "milestones_done": len(milestones),
        "phase": (
            current_phase(progress, member.phase_floor)
            if roadmap.track(member.track)
            else member.phase
        ),
    }
    return Expected(columns, {k: v for k, v in periods.items() if any(v.values())})


def _db_time(when: datetime | None) -> str | None:
    """As stored, for comparing with the member's row."""
    return None if when is None else to_db_time(when)


async def actual_periods(tx: Transaction, guild_id: int, user_id: int) -> dict[str, dict[str, int]]:
    rows = await tx.fetch_all(
        "SELECT period, checkins, days, minutes, milestones, streak_max "
        "FROM roadmap_period_stats WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
    found = {r[0]: dict(zip(COUNTERS, r[1:], strict=True)) for r in rows}
    return {k: v for k, v in found.items() if any(v.values())}


async def differences(
    tx: Transaction, guild_id: int, user_id: int, expected: Expected
) -> list[str]:
    row = await tx.fetch_one(MEMBER_SQL, (guild_id, user_id))
    assert row is not None
    found = [
        f"{guild_id}/{user_id} {name}: stored {row[name]!r}, history says {value!r}"
        for name, value in expected.columns.items()
        if row[name] != value
    ]
    if await actual_periods(tx, guild_id, user_id) != expected.periods:
        found.append(f"{guild_id}/{user_id} period counters differ from history")
    return found


async def repair(tx: Transaction, guild_id: int, user_id: int, expected: Expected) -> None:
    names = list(expected.columns)
    await tx.execute(
        f"UPDATE roadmap_members SET {', '.join(f'{n} = ?' for n in names)}, roles_dirty = 1 "
        "WHERE guild_id = ? AND user_id = ?",
        (*expected.columns.values(), guild_id, user_id),
    )
    await tx.execute(
        "DELETE FROM roadmap_period_stats WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    )
    await tx.executemany(
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
            for g, u in batch:
                async with self.db.transaction() as tx:
                    await tx.lock("roadmap-member", g, u)
                    if await load_member(tx, g, u) is None:
                        continue  # left meanwhile
                    expected = await expected_for(tx, g, u, roadmaps[g], self.rules)
                    diff = await differences(tx, g, u, expected)
                    if diff:
                        found.extend(diff)
                        if fix:
                            await repair(tx, g, u, expected)
                            repaired += 1
        return RecomputeReport(len(keys), repaired, tuple(found[:SHOWN_DIFFERENCES]))
