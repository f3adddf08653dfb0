"""Check-ins: writing one (streak and counters maintained in the same transaction), editing
today's, the streak view with its heatmap, and `/streak why`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import Clock, from_db_time, to_db_time
from bot.db import Database, Row
from bot.errors import DomainError, NotFound
from bot.services.roadmap.catalog import RoadmapCatalog
from bot.services.roadmap.content import Milestone
from bot.services.roadmap.counters import bump_periods, bump_statement
from bot.services.roadmap.dates import monday, parse_date, week_key
from bot.services.roadmap.member_state import (
    MEMBER_SQL,
    NOT_ENROLLED,
    MemberRecord,
    RoleMaps,
    alive_until,
    load_pauses,
    lock_member,
    member_from_row,
    nudge_due,
    require_active,
    roles_dirty,
)
from bot.services.roadmap.members import phase_name, summary_of, week_days_of
from bot.services.roadmap.milestones import change_milestone, done_keys, resolve_milestone
from bot.services.roadmap.records import (
    CheckinRecord,
    CheckinResult,
    StreakSummary,
    StreakView,
    StreakWhy,
    WhyDay,
)
from bot.services.roadmap.streaks import (
    Outcome,
    Pauses,
    StreakRules,
    apply_checkin,
    missed_so_far,
    replay,
)

DURATION = re.compile(
    r"^\s*(?:(\d{1,3}(?:[.,]\d{1,2})?)\s*h(?:ours?|rs?)?)?\s*"
    r"(?:(\d{1,5})\s*(?:m|mins?|minutes?)?)?\s*$",
    re.IGNORECASE,
)
WHY_DAYS = 14
COUNT_COLUMNS = ("count_before", "count_same", "count_after")


@dataclass(frozen=True)
class CheckinLimits:
    text_max: int = 4000
    minutes_max: int = 1440
    per_day_max: int = 20
    heatmap_weeks: int = 26


def parse_minutes(text: str | None, maximum: int) -> int:
    """'45', '45m', '1h', '1h30', '1.5h' -> minutes; empty -> 0."""
    if text is None or not text.strip():
        return 0
    match = DURATION.match(text)
    if match is None or (match.group(1) is None and match.group(2) is None):
        raise DomainError(
            f"'{text.strip()[:20]}' is not a duration: write minutes like 45, or 1h30."
        )
    hours = float(match.group(1).replace(",", ".")) if match.group(1) else 0.0
    minutes = round(hours * 60) + (int(match.group(2)) if match.group(2) else 0)
    if minutes > maximum:
        raise DomainError(f"A check-in can log at most {maximum} minutes.")
    return minutes


def clean_text(value: str | None, label: str, maximum: int, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise DomainError(f"Tell us {label}: it can't be empty.")
        return None
    if len(text) > maximum:
        raise DomainError(f"{label.capitalize()} can be at most {maximum} characters.")
    return text


# The member, today's check-in counts for the three local dates `now` can be (time zones
# span UTC-12 to UTC+14), and the member's pauses (one row each, or one row of NULLs): what a
# check-in needs, in one statement.
CHECKIN_READ_SQL = (
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


def _record(row: Row) -> CheckinRecord:
    return CheckinRecord(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        day=date.fromisoformat(row["local_date"]),
        created_at=from_db_time(row["created_at"]),
        minutes=row["minutes"],
        did=row["did"],
        blockers=row["blockers"],
        next_step=row["next_step"],
        milestone=row["milestone"],
        escalated=row["escalated_at"] is not None,
    )


class CheckinService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: RoadmapCatalog,
        rules: StreakRules,
        limits: CheckinLimits,
        roles: RoleMaps,
    ) -> None:
        self.db = db
        self.clock = clock
        self.catalog = catalog
        self.rules = rules
        self.limits = limits
        self.roles = roles

    async def checkin(
        self,
        guild_id: int,
        user_id: int,
        did: str,
        minutes: str | int | None = None,
        blockers: str | None = None,
        next_step: str | None = None,
        milestone: str | None = None,
    ) -> CheckinResult:
        """Store a check-in and move the streak, totals and counters on, in one transaction.

        Three trips to SQLite's writer: begin with one read (the member, today's counts,
        the pauses), the three writes together (the check-in, the member, the counters),
        commit. The server's role map comes from a cache. On PostgreSQL the member's lock
        makes two check-ins of the same member run one after the other.
        """
        limit = self.limits.text_max
        did_text = clean_text(did, "what you did", limit, required=True)
        blocker_text = clean_text(blockers, "your blockers", limit)
        next_text = clean_text(next_step, "your next step", limit)
        spent = (
            minutes if isinstance(minutes, int) else parse_minutes(minutes, self.limits.minutes_max)
        )
        if not 0 <= spent <= self.limits.minutes_max:
            raise DomainError(f"Minutes must be between 0 and {self.limits.minutes_max}.")
        roadmap = await self.catalog.get(guild_id)
        now = self.clock.now()
        utc_day = now.date()
        candidates = (utc_day - timedelta(days=1), utc_day, utc_day + timedelta(days=1))
        async with self.db.transaction() as tx:
            await tx.lock("roadmap-member", guild_id, user_id)
            rows = await tx.fetch_all(CHECKIN_READ_SQL, (*candidates, guild_id, user_id))
            if not rows:
                raise NotFound(NOT_ENROLLED)
            member = member_from_row(rows[0])
            require_active(member)
            day = member.today(now)
            today_count = rows[0][COUNT_COLUMNS[candidates.index(day)]]
            if today_count >= self.limits.per_day_max:
                raise DomainError(
                    f"That's {self.limits.per_day_max} check-ins today already: "
                    "/checkin edit:True changes today's last one instead."
                )
            ticked: Milestone | None = None
            if milestone and milestone.strip():
                ticked = resolve_milestone(roadmap, member.track, milestone)
            pauses = Pauses(
                (date.fromisoformat(r["pause_start"]), parse_date(r["pause_end"]))
                for r in rows
                if r["pause_start"] is not None
            )
            step = apply_checkin(member.streak, day, now, member.weekly_goal, pauses, self.rules)
            phase, delta, was_done, entered = member.phase, 0, False, None
            if ticked is not None:
                change = await change_milestone(tx, member, roadmap, ticked, True, now)
                phase, delta, was_done = change.phase_after, change.delta, not change.changed
                if change.phase_after > change.phase_before:
                    entered = phase_name(roadmap, change.phase_after)
            state = step.state
            new_day = int(today_count == 0)
            role_map = await self.roles.get(tx, guild_id)
            counted = state.current if step.counted else 0
            # Three writes that need nothing from each other: sent together.
            inserted, _, periods = await tx.pipeline(
                (
                    INSERT_SQL,
                    (
                        guild_id,
                        user_id,
                        now,
                        day,
                        member.weekly_goal,
                        spent,
                        did_text,
                        blocker_text,
                        next_text,
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
                        spent,
                        delta,
                        guild_id,
                        user_id,
                    ),
                ),
                bump_statement(guild_id, user_id, day, 1, new_day, spent, 0, counted),
            )
        week_days = {row[0]: row[1] for row in periods}[week_key(day)]
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
                week_days=week_days,
            ),
            missed=step.missed,
            freezes_spent=step.freezes_spent,
            earned_freeze=step.earned_freeze,
            milestone=ticked,
            milestone_was_done=was_done,
            phase_entered=entered,
            has_blockers=blocker_text is not None,
        )

    async def open_milestones(
        self, guild_id: int, user_id: int, limit: int = 25
    ) -> list[Milestone]:
        """The member's open milestones, current phase first, for the check-in modal."""
        roadmap = await self.catalog.get(guild_id)
        row = await self.db.fetch_one(
            "SELECT track, phase, paused_on FROM roadmap_members WHERE guild_id = ? "
            "AND user_id = ?",
            (guild_id, user_id),
        )
        if row is None:
            raise NotFound(NOT_ENROLLED)
        if row["paused_on"] is not None:
            raise DomainError("Your roadmap is paused: use /roadmap resume first.")
        done = await done_keys(self.db, guild_id, user_id)
        open_ones = [m for m in roadmap.milestones_for(row["track"]) if m.key not in done]
        open_ones.sort(key=lambda m: (m.phase < row["phase"], m.phase))
        return open_ones[:limit]

    async def todays(self, guild_id: int, user_id: int) -> CheckinRecord:
        """The member's latest check-in of today (their local day), for editing."""
        row = await self.db.fetch_one(MEMBER_SQL, (guild_id, user_id))
        if row is None:
            raise NotFound(NOT_ENROLLED)
        member = member_from_row(row)
        today = member.today(self.clock.now())
        found = await self.db.fetch_one(
            "SELECT * FROM roadmap_checkins WHERE guild_id = ? AND user_id = ? "
            "AND local_date = ? ORDER BY id DESC LIMIT 1",
            (guild_id, user_id, today.isoformat()),
        )
        if found is None:
            raise NotFound("You haven't checked in today yet: use /checkin first.")
        return _record(found)

    async def edit(
        self,
        guild_id: int,
        user_id: int,
        checkin_id: int,
        did: str,
        minutes: str | None,
        blockers: str | None,
        next_step: str | None,
    ) -> CheckinRecord:
        """Change today's check-in text and minutes; the totals follow the new minutes."""
        limit = self.limits.text_max
        did_text = clean_text(did, "what you did", limit, required=True)
        blocker_text = clean_text(blockers, "your blockers", limit)
        next_text = clean_text(next_step, "your next step", limit)
        spent = parse_minutes(minutes, self.limits.minutes_max)
        now = self.clock.now()

        async with self.db.transaction() as tx:
            member = await lock_member(tx, guild_id, user_id)
            row = await tx.fetch_one(
                "SELECT * FROM roadmap_checkins WHERE id = ? AND guild_id = ? AND user_id = ?",
                (checkin_id, guild_id, user_id),
            )
            if row is None or row["local_date"] != member.today(now).isoformat():
                raise DomainError("Only today's check-in can be edited.")
            delta = spent - row["minutes"]
            updated = await tx.fetch_one(
                "UPDATE roadmap_checkins SET did = ?, minutes = ?, blockers = ?, next_step = ?, "
                "edited_at = ? WHERE id = ? RETURNING *",
                (did_text, spent, blocker_text, next_text, now, checkin_id),
            )
            if delta:
                await tx.execute(
                    "UPDATE roadmap_members SET minutes_total = minutes_total + ? "
                    "WHERE guild_id = ? AND user_id = ?",
                    (delta, guild_id, user_id),
                )
                await bump_periods(
                    tx, guild_id, user_id, date.fromisoformat(row["local_date"]), minutes=delta
                )
        assert updated is not None
        return _record(updated)

    async def blocker(self, guild_id: int, user_id: int, checkin_id: int) -> CheckinRecord:
        """A member's own check-in with a blocker, for the 'ask' and 'tell the mentors' buttons."""
        row = await self.db.fetch_one(
            "SELECT * FROM roadmap_checkins WHERE id = ? AND guild_id = ? AND user_id = ?",
            (checkin_id, guild_id, user_id),
        )
        if row is None:
            raise NotFound("That check-in is not yours, or it no longer exists.")
        record = _record(row)
        if not record.blockers:
            raise DomainError("That check-in has no blocker to pass on.")
        return record

    async def mark_escalated(self, guild_id: int, user_id: int, checkin_id: int) -> bool:
        """Note that the mentors were told; False when they already were (so only once)."""
        changed = await self.db.execute(
            "UPDATE roadmap_checkins SET escalated_at = ? WHERE id = ? AND guild_id = ? "
            "AND user_id = ? AND escalated_at IS NULL AND blockers IS NOT NULL",
            (to_db_time(self.clock.now()), checkin_id, guild_id, user_id),
        )
        return changed == 1

    async def unmark_escalated(self, guild_id: int, user_id: int, checkin_id: int) -> None:
        await self.db.execute(
            "UPDATE roadmap_checkins SET escalated_at = NULL WHERE id = ? AND guild_id = ? "
            "AND user_id = ?",
            (checkin_id, guild_id, user_id),
        )

    async def streak(self, guild_id: int, user_id: int, *, own: bool = True) -> StreakView:
        row = await self.db.fetch_one(MEMBER_SQL, (guild_id, user_id))
        if row is None:
            raise NotFound(NOT_ENROLLED if own else "That member is not on the roadmap here.")
        member = member_from_row(row)
        return await _streak_view(self.db, member, self.clock.now(), self.limits.heatmap_weeks)

    async def why(self, guild_id: int, user_id: int) -> StreakWhy:
        """Replay the member's check-ins through the rules and explain the recent days."""
        view = await self.streak(guild_id, user_id)
        row = await self.db.fetch_one(MEMBER_SQL, (guild_id, user_id))
        assert row is not None
        member = member_from_row(row)
        now = self.clock.now()
        rows = await self.db.fetch_all(
            "SELECT local_date, created_at, weekly_goal FROM roadmap_checkins "
            "WHERE guild_id = ? AND user_id = ? ORDER BY id",
            (guild_id, user_id),
        )
        history = [(date.fromisoformat(r[0]), from_db_time(r[1]), r[2]) for r in rows]
        pauses = await load_pauses(self.db, guild_id, user_id)
        steps = replay(history, pauses, self.rules)
        days = []
        before = 0
        for step in steps:
            if step.counted and step.state.last_date is not None:
                days.append(
                    WhyDay(
                        day=step.state.last_date,
                        outcome=step.outcome,
                        streak_after=step.state.current,
                        freezes_after=step.state.freezes,
                        missed=step.missed,
                        freezes_before=before,
                        freezes_spent=step.freezes_spent,
                        earned_freeze=step.earned_freeze,
                    )
                )
            before = step.state.freezes
        breaks = [d for d in days if d.outcome is Outcome.BROKE]
        state = steps[-1].state if steps else member.streak
        missed_now = missed_so_far(state, member.today(now), now, member.weekly_goal, pauses)
        return StreakWhy(
            view=view,
            days=tuple(days[-WHY_DAYS:]),
            missed_since_last=missed_now,
            last_break=breaks[-1] if breaks else None,
        )


async def _streak_view(db: Database, member: MemberRecord, now: datetime, weeks: int) -> StreakView:
    today = member.today(now)
    first = monday(today) - timedelta(weeks=weeks - 1)
    rows = await db.fetch_all(
        "SELECT local_date, count(*) FROM roadmap_checkins WHERE guild_id = ? "
        "AND user_id = ? AND local_date >= ? GROUP BY local_date",
        (member.guild_id, member.user_id, first),
    )
    heatmap = {date.fromisoformat(r[0]): r[1] for r in rows}
    pauses = await load_pauses(db, member.guild_id, member.user_id)
    summary = summary_of(member, pauses, now, await week_days_of(db, member, today))
    end = alive_until(member, member.streak, pauses)
    return StreakView(
        user_id=member.user_id,
        summary=summary,
        alive=summary.current > 0,
        breaks_at=end if summary.current > 0 else None,
        today=today,
        timezone=member.zone_name,
        checkin_days=member.checkin_days,
        checkins_total=member.checkins_total,
        minutes_total=member.minutes_total,
        heatmap=heatmap,
        paused=member.paused,
    )
