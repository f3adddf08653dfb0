"""Writing check-ins: the ones that arrive together share a transaction (group commit).

Why (measured, bench/README.md): SQLite has one writer, and a write transaction holds it
across every trip to the writer's thread. Under load each trip's answer waits its turn on
the busy event loop, so ten members checking in at once queued behind each other's
transactions and `/checkin` ran at about a quarter of `/ping`'s rate. A batch costs the
same three trips for any number of check-ins: the members' rows read together (with
BEGIN), the rules applied in Python, every write sent together, one COMMIT.

- A check-in arriving while no batch runs is written at once, alone: no added wait.
- A batch holds at most one check-in per member (a second one waits for the next batch,
  so it sees the first); a milestone tick is written in its batch's transaction too.
- A refused check-in (paused roadmap, the day's limit, an unknown milestone) fails alone,
  before anything of it is written. If the writes themselves fail, the batch is rolled
  back and each check-in is written again alone, so only the culprit sees the error.
- Each caller gets its result once the transaction holding it is committed.
- Only where one writer serialises every write (SQLite: `Database.max_writers` is 1). On
  PostgreSQL each check-in is a transaction of its own, on its own connection, as many at
  once as the pool has connections (grouping them measured slower: 954 against 1,273
  check-ins/s with ten at once; the server groups concurrent commits' fsyncs itself).
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
from bot.services.roadmap.counters import bump_statement
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
    "minutes, did, blockers, next_step, milestone) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "RETURNING id"
)
MEMBER_UPDATE_SQL = (
    "UPDATE roadmap_members SET current_streak = ?, best_streak = ?, freezes = ?, "
    "last_date = ?, last_at = ?, run_start = ?, week_days = ?, alive_until = ?, phase = ?, "
    "nudge_due_at = ?, roles_dirty = ?, checkins_total = checkins_total + 1, "
    "checkin_days = checkin_days + ?, minutes_total = minutes_total + ?, "
    "milestones_done = milestones_done + ? WHERE guild_id = ? AND user_id = ?"
)


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


# What one planned check-in becomes once its writes ran: a function of their results.
Finish = Callable[[list[list[Row]]], CheckinResult]


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
        size = MAX_BATCH if self.db.max_writers == 1 else 1
        batch, members, rest = [], set(), []
        for item in self._queue:
            if len(batch) < size and item[0].member not in members:
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
        finishes: list[Finish | Exception] = []
        statements: list[tuple[str, Any]] = []
        async with self.db.transaction() as tx:
            for request in sorted(requests, key=lambda r: r.member):
                await tx.lock("roadmap-member", *request.member)
            reads = await tx.pipeline(
                *((READ_SQL, (*r.candidate_days, *r.member)) for r in requests)
            )
            for request, rows in zip(requests, reads, strict=True):
                try:
                    writes, finish = await self._plan(tx, request, rows)
                except DomainError as refused:
                    finishes.append(refused)
                    continue
                first = len(statements)
                statements += writes
                finishes.append(lambda results, f=finish, n=first: f(results[n : n + 3]))
            results = await tx.pipeline(*statements) if statements else []
        self.batches += 1
        return [f if isinstance(f, Exception) else f(results) for f in finishes]

    async def _plan(
        self, tx: Transaction, r: CheckinRequest, rows: list[Row]
    ) -> tuple[list[tuple[str, Any]], Finish]:
        """Apply the rules to one member's row: the three writes, and how to read them."""
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
        writes = [
            (
                INSERT_SQL,
                (
                    *r.member,
                    r.now,
                    day,
                    member.weekly_goal,
                    r.minutes,
                    r.did,
                    r.blockers,
                    r.next_step,
                    ticked.key if ticked else None,
                ),
            ),
            (
                MEMBER_UPDATE_SQL,
                (
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
                    *r.member,
                ),
            ),
            bump_statement(*r.member, day, 1, new_day, r.minutes, 0, counted),
        ]

        def finish(results: list[list[Row]]) -> CheckinResult:
            inserted, _, periods = results
            # Just checked in: nothing is missed, so the streak stands as the step left it.
            return CheckinResult(
                checkin_id=inserted[0][0],
                day=day,
                outcome=step.outcome,
                streak=StreakSummary(
                    current=state.current,
                    best=state.best,
                    freezes=state.freezes,
                    weekly_goal=member.weekly_goal,
                    week_days={row[0]: row[1] for row in periods}[week_key(day)],
                ),
                missed=step.missed,
                freezes_spent=step.freezes_spent,
                earned_freeze=step.earned_freeze,
                milestone=ticked,
                milestone_was_done=was_done,
                phase_entered=entered,
                has_blockers=r.blockers is not None,
            )

        return writes, finish
