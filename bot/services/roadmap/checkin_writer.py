"""Writing check-ins: the ones that arrive together share a transaction (group commit).

Why (measured, bench/README.md): SQLite has one writer, and a write transaction holds it
across every trip to the writer's thread; each trip also wakes the event loop from that
thread, which costs about as much as the SQL itself. On PostgreSQL every statement is a
round trip. A batch costs the same four statements for any number of check-ins: the
members' rows read in one SELECT (with BEGIN, and on PostgreSQL after the members' locks,
which travel with BEGIN), the rules applied in Python, then one INSERT of the check-ins,
one UPDATE of the members and one upsert of their counters, sent together, and COMMIT.

- A check-in arriving while no batch is being written starts one (in a task of its own,
  which runs after what the event loop already had ready: check-ins sent at the same
  moment share it); one arriving while a batch is written waits for the next.
- A batch holds at most one check-in per member (a second one waits for the next batch,
  so it sees the first); a milestone tick is written in its batch's transaction too.
- A refused check-in (paused roadmap, the day's limit, an unknown milestone) fails alone,
  before anything of it is written. If the writes themselves fail, the batch is rolled
  back and each check-in is written again alone, so only the culprit sees the error.
- Each caller gets its result once the transaction holding it is committed.
- As many batches at once as the engine has writers (`Database.max_writers`: SQLite's one
  writer; PostgreSQL's pool, where the members' advisory locks, taken in one order, keep
  two batches with the same member one after the other).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.db import Database, Row, Transaction
from bot.errors import DomainError, NotFound
from bot.services.roadmap.content import Milestone, Roadmap
from bot.services.roadmap.counters import bump_rows, bump_sql
from bot.services.roadmap.dates import parse_date, week_key
from bot.services.roadmap.member_state import (
    NOT_ENROLLED,
    RoleMaps,
    alive_until,
    member_from_row,
    nudge_due,
    require_active,
    roles_dirty,
)
from bot.services.roadmap.members import phase_name
from bot.services.roadmap.milestones import change_milestone, resolve_milestone
from bot.services.roadmap.records import CheckinResult, StreakSummary
from bot.services.roadmap.streaks import Pauses, StreakRules, apply_checkin

MAX_BATCH = 64
COUNT_COLUMNS = ("count_before", "count_same", "count_after")
# The member, today's check-in counts for the three local dates `now` can be (time zones
# span UTC-12 to UTC+14), and the member's pauses (one row each, or one row of NULLs).
# A batch reads all its members with these joined by UNION ALL.
READ_SQL = (
    "SELECT m.*, COALESCE(g.timezone, 'UTC') AS server_timezone, "
    "(SELECT count(*) FROM roadmap_checkins c WHERE c.guild_id = m.guild_id "
    "AND c.user_id = m.user_id AND c.local_date = ?) AS count_before, "
    "(SELECT count(*) FROM roadmap_checkins c WHERE c.guild_id = m.guild_id "
    "AND c.user_id = m.user_id AND c.local_date = ?) AS count_same, "
    "(SELECT count(*) FROM roadmap_checkins c WHERE c.guild_id = m.guild_id "
    "AND c.user_id = m.user_id AND c.local_date = ?) AS count_after, "
    "p.start_date AS pause_start, p.end_date AS pause_end "
    "FROM roadmap_members m LEFT JOIN guild_settings g ON g.guild_id = m.guild_id "
    "LEFT JOIN roadmap_pauses p ON p.guild_id = m.guild_id AND p.user_id = m.user_id "
    "WHERE m.guild_id = ? AND m.user_id = ?"
)
INSERT_SQL = (
    "INSERT INTO roadmap_checkins (guild_id, user_id, created_at, local_date, weekly_goal, "
    "minutes, did, blockers, next_step, milestone) VALUES {rows} RETURNING id, guild_id, user_id"
)
INSERT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
# Each member's new values, as a row of the UPDATE's FROM (typed, so PostgreSQL knows them).
MEMBER_VALUES = (
    ("guild_id", "BIGINT"),
    ("user_id", "BIGINT"),
    ("current_streak", "BIGINT"),
    ("best_streak", "BIGINT"),
    ("freezes", "BIGINT"),
    ("last_date", "TEXT"),
    ("last_at", "TEXT"),
    ("run_start", "TEXT"),
    ("week_days", "BIGINT"),
    ("alive_until", "TEXT"),
    ("phase", "BIGINT"),
    ("nudge_due_at", "TEXT"),
    ("roles_dirty", "BIGINT"),
    ("new_day", "BIGINT"),
    ("minutes", "BIGINT"),
    ("milestones", "BIGINT"),
)
MEMBER_ROW = "SELECT " + ", ".join(f"CAST(? AS {kind}) AS {name}" for name, kind in MEMBER_VALUES)
MEMBER_UPDATE_SQL = (
    "UPDATE roadmap_members SET current_streak = v.current_streak, "
    "best_streak = v.best_streak, freezes = v.freezes, last_date = v.last_date, "
    "last_at = v.last_at, run_start = v.run_start, week_days = v.week_days, "
    "alive_until = v.alive_until, phase = v.phase, nudge_due_at = v.nudge_due_at, "
    "roles_dirty = v.roles_dirty, checkins_total = checkins_total + 1, "
    "checkin_days = checkin_days + v.new_day, minutes_total = minutes_total + v.minutes, "
    "milestones_done = milestones_done + v.milestones FROM ({rows}) AS v "
    "WHERE roadmap_members.guild_id = v.guild_id AND roadmap_members.user_id = v.user_id"
)


def batch_writes(plans: list[Planned]) -> list[tuple[str, list[Any]]]:
    """The three statements that write every planned check-in of a batch."""
    rows = len(plans)
    return [
        (
            INSERT_SQL.format(rows=", ".join([INSERT_ROW] * rows)),
            [value for plan in plans for value in plan.checkin],
        ),
        (
            MEMBER_UPDATE_SQL.format(rows=" UNION ALL ".join([MEMBER_ROW] * rows)),
            [value for plan in plans for value in plan.member],
        ),
        (
            bump_sql(3 * rows, "guild_id, user_id, period, days"),
            [value for plan in plans for value in plan.counters],
        ),
    ]


@dataclass(frozen=True)
class CheckinRequest:
    """A check-in whose text and minutes are already checked."""

    guild_id: int
    user_id: int
    did: str
    blockers: str | None
    next_step: str | None
    minutes: int
    milestone: str | None
    roadmap: Roadmap
    now: datetime

    @property
    def member(self) -> tuple[int, int]:
        return (self.guild_id, self.user_id)

    @property
    def candidate_days(self) -> tuple[date, date, date]:
        today = self.now.date()
        return (today - timedelta(days=1), today, today + timedelta(days=1))


# What one planned check-in becomes once written: a function of its id and its week's days.
Finish = Callable[[int, dict[str, int]], CheckinResult]


@dataclass(frozen=True)
class Planned:
    """One check-in the rules accepted: the values its batch writes, and its result."""

    key: tuple[int, int]
    checkin: tuple[Any, ...]
    member: tuple[Any, ...]
    counters: list[object]
    finish: Finish


class CheckinWriter:
    def __init__(self, db: Database, rules: StreakRules, roles: RoleMaps, per_day_max: int) -> None:
        self.db = db
        self.rules = rules
        self.roles = roles
        self.per_day_max = per_day_max
        self._queue: list[tuple[CheckinRequest, asyncio.Future[CheckinResult]]] = []
        self._running = 0
        self.batches = 0  # transactions written, for tests

    async def submit(self, request: CheckinRequest) -> CheckinResult:
        """Write `request` (with others waiting, in one transaction); its result once
        committed. Batches run in their own tasks: a caller who goes away never leaves
        the others of its batch without an answer."""
        future: asyncio.Future[CheckinResult] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._running < self.db.max_writers:
            self._running += 1
            asyncio.get_running_loop().create_task(self._drain(), name="roadmap-checkins")
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._run(self._next_batch())
        finally:
            self._running -= 1

    def _next_batch(self) -> list[tuple[CheckinRequest, asyncio.Future[CheckinResult]]]:
        batch, members, rest = [], set(), []
        for item in self._queue:
            if len(batch) < MAX_BATCH and item[0].member not in members:
                members.add(item[0].member)
                batch.append(item)
            else:
                rest.append(item)
        self._queue = rest
        return batch

    async def _run(self, batch: list[tuple[CheckinRequest, asyncio.Future[CheckinResult]]]) -> None:
        outcomes: list[CheckinResult | Exception]
        try:
            outcomes = await self._write([request for request, _ in batch])
        except Exception as error:
            if len(batch) > 1:  # the writes failed: each again alone, so only the culprit fails
                for item in batch:
                    await self._run([item])
                return
            outcomes = [error]
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():
                continue  # its caller went away; the check-in is written all the same
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def _write(self, requests: list[CheckinRequest]) -> list[CheckinResult | Exception]:
        planned: list[Planned | Exception] = []
        async with self.db.transaction() as tx:
            await tx.lock_all(("roadmap-member", *r.member) for r in sorted(requests, key=_member))
            read = await tx.fetch_all(
                " UNION ALL ".join([READ_SQL] * len(requests)),
                [value for r in requests for value in (*r.candidate_days, *r.member)],
            )
            rows: dict[tuple[int, int], list[Row]] = {}
            for row in read:
                rows.setdefault((row["guild_id"], row["user_id"]), []).append(row)
            for request in requests:
                try:
                    planned.append(await self._plan(tx, request, rows.get(request.member, [])))
                except DomainError as refused:
                    planned.append(refused)
            accepted = [p for p in planned if isinstance(p, Planned)]
            results = await tx.pipeline(*batch_writes(accepted)) if accepted else [[], [], []]
        self.batches += 1
        ids = {(row[1], row[2]): row[0] for row in results[0]}
        days: dict[tuple[int, int], dict[str, int]] = {}
        for row in results[2]:
            days.setdefault((row[0], row[1]), {})[row[2]] = row[3]
        return [
            p if isinstance(p, Exception) else p.finish(ids[p.key], days[p.key]) for p in planned
        ]

    async def _plan(self, tx: Transaction, r: CheckinRequest, rows: list[Row]) -> Planned:
        """Apply the rules to one member's rows: the values to write, and the result."""
        if not rows:
            raise NotFound(NOT_ENROLLED)
        member = member_from_row(rows[0])
        require_active(member)
        day = member.today(r.now)
        today_count = rows[0][COUNT_COLUMNS[r.candidate_days.index(day)]]
        if today_count >= self.per_day_max:
            raise DomainError(
                f"That's {self.per_day_max} check-ins today already: "
                "/checkin edit:True changes today's last one instead."
            )
        ticked: Milestone | None = None
        if r.milestone and r.milestone.strip():
            ticked = resolve_milestone(r.roadmap, member.track, r.milestone)
        pauses = Pauses(
            (date.fromisoformat(row["pause_start"]), parse_date(row["pause_end"]))
            for row in rows
            if row["pause_start"] is not None
        )
        step = apply_checkin(member.streak, day, r.now, member.weekly_goal, pauses, self.rules)
        phase, delta, was_done, entered = member.phase, 0, False, None
        if ticked is not None:
            change = await change_milestone(tx, member, r.roadmap, ticked, True, r.now)
            phase, delta, was_done = change.phase_after, change.delta, not change.changed
            if change.phase_after > change.phase_before:
                entered = phase_name(r.roadmap, change.phase_after)
        state = step.state
        new_day = int(today_count == 0)
        role_map = await self.roles.get(tx, r.guild_id)
        counted = state.current if step.counted else 0
        checkin = (
            *r.member,
            r.now,
            day,
            member.weekly_goal,
            r.minutes,
            r.did,
            r.blockers,
            r.next_step,
            ticked.key if ticked else None,
        )
        member_values = (
            *r.member,
            state.current,
            state.best,
            state.freezes,
            state.last_date,
            state.last_at,
            state.run_start,
            state.week_days,
            alive_until(member, state, pauses),
            phase,
            nudge_due(member, state, pauses),
            roles_dirty(member, role_map, phase, state.current),
            new_day,
            r.minutes,
            delta,
        )
        counters = bump_rows(*r.member, day, 1, new_day, r.minutes, 0, counted)

        def finish(checkin_id: int, period_days: dict[str, int]) -> CheckinResult:
            # Just checked in: nothing is missed, so the streak stands as the step left it.
            return CheckinResult(
                checkin_id=checkin_id,
                day=day,
                outcome=step.outcome,
                streak=StreakSummary(
                    current=state.current,
                    best=state.best,
                    freezes=state.freezes,
                    weekly_goal=member.weekly_goal,
                    week_days=period_days[week_key(day)],
                ),
                missed=step.missed,
                freezes_spent=step.freezes_spent,
                earned_freeze=step.earned_freeze,
                milestone=ticked,
                milestone_was_done=was_done,
                phase_entered=entered,
                has_blockers=r.blockers is not None,
            )

        return Planned(r.member, checkin, member_values, counters, finish)


def _member(request: CheckinRequest) -> tuple[int, int]:
    return request.member
