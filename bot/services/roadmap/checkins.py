"""Check-ins: writing one (streak and counters maintained in the same transaction), editing
today's, the streak view with its heatmap, and `/streak why`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.clock import Clock, from_db_time, to_db_time
from bot.db import Database, Row, from_row
from bot.errors import DomainError, NotFound
from bot.services.roadmap.catalog import RoadmapCatalog
from bot.services.roadmap.checkin_writer import CheckinRequest, CheckinWriter
from bot.services.roadmap.content import Milestone
from bot.services.roadmap.counters import bump_periods
from bot.services.roadmap.dates import monday
from bot.services.roadmap.member_state import (
    MEMBER_SQL,
    NOT_ENROLLED,
    MemberRecord,
    RoleMaps,
    alive_until,
    load_pauses,
    lock_member,
    member_from_row,
)
from bot.services.roadmap.members import summary_of, week_days_of
from bot.services.roadmap.milestones import done_keys
from bot.services.roadmap.records import (
    CheckinRecord,
    CheckinResult,
    StreakView,
    StreakWhy,
    WhyDay,
)
from bot.services.roadmap.streaks import (
    Outcome,
    StreakRules,
    missed_so_far,
    replay,
)

DURATION = re.compile(
    r"^\s*(?:(\d{1,3}(?:[.,]\d{1,2})?)\s*h(?:ours?|rs?)?)?\s*"
    r"(?:(\d{1,5})\s*(?:m|mins?|minutes?)?)?\s*$",
    re.IGNORECASE,
)
WHY_DAYS = 14


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


def _record(row: Row) -> CheckinRecord:
    return from_row(
        CheckinRecord,
        row,
        day=date.fromisoformat(row["local_date"]),
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
        self.writer = CheckinWriter(db, rules, roles, limits.per_day_max)

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
        """Store a check-in and move the streak, totals and counters on, in one transaction
        (shared with the check-ins written at the same moment: checkin_writer.py)."""
        limit = self.limits.text_max
        did_text = clean_text(did, "what you did", limit, required=True)
        blocker_text = clean_text(blockers, "your blockers", limit)
        next_text = clean_text(next_step, "your next step", limit)
        spent = (
            minutes if isinstance(minutes, int) else parse_minutes(minutes, self.limits.minutes_max)
        )
        if not 0 <= spent <= self.limits.minutes_max:
            raise DomainError(f"Minutes must be between 0 and {self.limits.minutes_max}.")
        request = CheckinRequest(
            guild_id=guild_id,
            user_id=user_id,
            did=did_text,
            blockers=blocker_text,
            next_step=next_text,
            minutes=spent,
            milestone=milestone,
            roadmap=await self.catalog.get(guild_id),
            now=self.clock.now(),
        )
        return await self.writer.submit(request)

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
