"""Enrolment, the roadmap view, milestones, pause/resume/leave and the member's profile."""

from __future__ import annotations

from datetime import date, datetime

from bot.clock import Clock
from bot.db import Database, Transaction
from bot.discord_limits import CHOICE_NAME, CHOICES
from bot.errors import DomainError, NotFound
from bot.services.contracts import MemberContext
from bot.services.roadmap.catalog import RoadmapCatalog
from bot.services.roadmap.content import Roadmap
from bot.services.roadmap.dates import local_date, monday
from bot.services.roadmap.member_state import (
    MEMBER_SQL,
    NOT_ENROLLED,
    MemberRecord,
    Queryable,
    RoleMaps,
    effective_streak,
    load_member,
    load_pauses,
    lock_member,
    member_from_row,
    refresh_schedule,
    roles_dirty,
)
from bot.services.roadmap.milestones import change_milestone, done_keys, resolve_milestone
from bot.services.roadmap.plan import (
    current_phase,
    pace,
    phase_progress,
    plan_month,
    plan_start,
)
from bot.services.roadmap.records import (
    ArchivedMilestone,
    Enrolment,
    MemberView,
    MilestoneResult,
    StreakSummary,
)
from bot.services.roadmap.streaks import Pauses, StreakRules, standing
from bot.timezones import parse_timezone

EARLIEST_START = date(2020, 1, 1)


def parse_start_date(text: str | None, today: date) -> date:
    if text is None or not text.strip():
        return today
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(
            f"'{text.strip()[:20]}' is not a date: use YYYY-MM-DD, like 2026-01-15."
        ) from None
    if value > today:
        raise DomainError("Your start date can't be in the future: use today or an earlier day.")
    if value < EARLIEST_START:
        raise DomainError("Your start date must be in 2020 or later.")
    return value


def summary_of(
    member: MemberRecord, pauses: Pauses, now: datetime, week_days: int
) -> StreakSummary:
    today = member.today(now)
    now_standing = standing(member.streak, now, today, member.weekly_goal, pauses, member.zone)
    return StreakSummary(
        current=now_standing.current,
        best=member.streak.best,
        freezes=now_standing.freezes,
        weekly_goal=member.weekly_goal,
        week_days=week_days,
    )


async def week_days_of(q: Queryable, member: MemberRecord, today: date) -> int:
    """Distinct check-in days in the member's current local week."""
    return await q.fetch_value(
        "SELECT count(DISTINCT local_date) FROM roadmap_checkins WHERE guild_id = ? "
        "AND user_id = ? AND local_date >= ?",
        (member.guild_id, member.user_id, monday(today)),
    )


class MemberService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        catalog: RoadmapCatalog,
        rules: StreakRules,
        roles: RoleMaps,
    ) -> None:
        self.db = db
        self.roles = roles
        self.clock = clock
        self.catalog = catalog
        self.rules = rules

    async def start(
        self,
        guild_id: int,
        user_id: int,
        track: str,
        start_date: str | None = None,
        timezone: str | None = None,
    ) -> Enrolment:
        roadmap = await self.catalog.get(guild_id)
        chosen = roadmap.track(track.strip())
        if chosen is None:
            names = ", ".join(f"{t.key} ({t.name})" for t in roadmap.tracks)
            raise DomainError(f"There is no track '{track.strip()[:40]}'. Choose one of: {names}.")
        zone_name = parse_timezone(timezone).key if timezone and timezone.strip() else None
        now = self.clock.now()

        async with self.db.transaction() as tx:
            await tx.lock("roadmap-member", guild_id, user_id)
            if await load_member(tx, guild_id, user_id) is not None:
                raise DomainError(
                    "You are already on the roadmap here. /roadmap view shows where you are; "
                    "/roadmap leave lets you start over."
                )
            server_zone = await tx.fetch_value(
                "SELECT timezone FROM guild_settings WHERE guild_id = ?", (guild_id,)
            )
            effective_zone = zone_name or server_zone or "UTC"
            today = local_date(now, parse_timezone(effective_zone))
            start = parse_start_date(start_date, today)
            # With reward roles mapped, a new member's phase role is due at the next tick.
            await tx.execute(
                "INSERT INTO roadmap_members (guild_id, user_id, track, start_date, timezone, "
                "enrolled_at, roles_dirty) VALUES (?, ?, ?, ?, ?, ?, "
                "CAST(EXISTS (SELECT 1 FROM roadmap_roles WHERE guild_id = ?) AS INTEGER))",
                (guild_id, user_id, chosen.key, start, zone_name, now, guild_id),
            )
        month = plan_month(start, today)
        return Enrolment(chosen, start, effective_zone, month, roadmap.phases[0])

    async def _member(self, guild_id: int, user_id: int) -> MemberRecord:
        row = await self.db.fetch_one(MEMBER_SQL, (guild_id, user_id))
        if row is None:
            raise NotFound(NOT_ENROLLED)
        return member_from_row(row)

    async def view(self, guild_id: int, user_id: int, *, own: bool = True) -> MemberView:
        roadmap = await self.catalog.get(guild_id)
        row = await self.db.fetch_one(MEMBER_SQL, (guild_id, user_id))
        if row is None:
            raise NotFound(NOT_ENROLLED if own else "That member is not on the roadmap here.")
        return await build_view(self.db, member_from_row(row), roadmap, self.clock.now())

    async def milestone_choices(
        self, guild_id: int, user_id: int, query: str
    ) -> list[tuple[str, str]]:
        """(label, key) pairs for autocomplete: the member's track, open ones first."""
        roadmap = await self.catalog.get(guild_id)
        row = await self.db.fetch_one(
            "SELECT track FROM roadmap_members WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        if row is None:
            return []
        done = {
            r["milestone"]
            for r in await self.db.fetch_all(
                "SELECT milestone FROM roadmap_milestones WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id),
            )
        }
        needle = query.strip().lower()
        found = [
            m
            for m in roadmap.milestones_for(row["track"])
            if needle in m.title.lower() or needle in m.key or needle in m.skill.lower()
        ]
        found.sort(key=lambda m: (m.key in done, m.phase))
        return [
            (f"{'✓ ' if m.key in done else ''}P{m.phase} · {m.title}"[:CHOICE_NAME], m.key)
            for m in found[:CHOICES]
        ]

    async def set_milestone(
        self, guild_id: int, user_id: int, key: str, done: bool = True
    ) -> MilestoneResult:
        roadmap = await self.catalog.get(guild_id)
        now = self.clock.now()

        async with self.db.transaction() as tx:
            member = await lock_member(tx, guild_id, user_id)
            milestone = resolve_milestone(roadmap, member.track, key)
            change = await change_milestone(tx, member, roadmap, milestone, done, now)
            if change.changed:
                pauses = await load_pauses(tx, guild_id, user_id)
                dirty = roles_dirty(
                    member,
                    await self.roles.get(tx, guild_id),
                    change.phase_after,
                    effective_streak(member, pauses, now),
                )
                await tx.execute(
                    "UPDATE roadmap_members SET milestones_done = milestones_done + ?, "
                    "phase = ?, roles_dirty = ? WHERE guild_id = ? AND user_id = ?",
                    (change.delta, change.phase_after, dirty, guild_id, user_id),
                )
            mine = await done_keys(tx, guild_id, user_id)
        total = len(roadmap.milestones_for(member.track))
        count = sum(1 for m in roadmap.milestones_for(member.track) if m.key in mine)
        return MilestoneResult(
            milestone=milestone,
            done=change.done,
            changed=change.changed,
            phase_before=change.phase_before,
            phase_after=change.phase_after,
            phase_name=phase_name(roadmap, change.phase_after),
            done_count=count,
            total=total,
        )

    async def pause(self, guild_id: int, user_id: int) -> date:
        now = self.clock.now()

        async with self.db.transaction() as tx:
            member = await lock_member(tx, guild_id, user_id)
            if member.paused:
                raise DomainError(f"Your roadmap has been paused since {member.paused_on}.")
            today = member.today(now)
            await tx.execute(
                "INSERT INTO roadmap_pauses (guild_id, user_id, start_date) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id, user_id, start_date) DO UPDATE SET end_date = NULL",
                (guild_id, user_id, today),
            )
            await tx.execute(
                "UPDATE roadmap_members SET paused_on = ? WHERE guild_id = ? AND user_id = ?",
                (today, guild_id, user_id),
            )
            await refresh_schedule(tx, member, now, self.roles)
        return today

    async def resume(self, guild_id: int, user_id: int) -> int:
        """Resume; returns how many days the pause lasted (the plan clock skips them)."""
        now = self.clock.now()

        async with self.db.transaction() as tx:
            member = await lock_member(tx, guild_id, user_id)
            if member.paused_on is None:
                raise DomainError("Your roadmap is not paused.")
            today = max(member.today(now), member.paused_on)
            days = (today - member.paused_on).days
            await tx.execute(
                "UPDATE roadmap_pauses SET end_date = ? WHERE guild_id = ? AND user_id = ? "
                "AND end_date IS NULL",
                (today, guild_id, user_id),
            )
            await tx.execute(
                "UPDATE roadmap_members SET paused_on = NULL, paused_days = paused_days + ? "
                "WHERE guild_id = ? AND user_id = ?",
                (days, guild_id, user_id),
            )
            await refresh_schedule(tx, member, now, self.roles)
        return days

    async def leave(self, guild_id: int, user_id: int) -> None:
        """Remove the member's roadmap data in this server (check-ins, streaks, milestones)."""

        async with self.db.transaction() as tx:
            await lock_member(tx, guild_id, user_id)
            await remove_member(tx, guild_id, user_id)

    async def set_timezone(self, guild_id: int, user_id: int, name: str) -> str:
        zone = parse_timezone(name).key
        now = self.clock.now()

        async with self.db.transaction() as tx:
            member = await lock_member(tx, guild_id, user_id)
            await tx.execute(
                "UPDATE roadmap_members SET timezone = ? WHERE guild_id = ? AND user_id = ?",
                (zone, guild_id, user_id),
            )
            await refresh_schedule(tx, member, now, self.roles)
        return zone

    async def set_goal(self, guild_id: int, user_id: int, days: int) -> int:
        if not 1 <= days <= 7:
            raise DomainError("Your goal is a number of check-in days per week, from 1 to 7.")
        now = self.clock.now()

        async with self.db.transaction() as tx:
            member = await lock_member(tx, guild_id, user_id)
            await tx.execute(
                "UPDATE roadmap_members SET weekly_goal = ? WHERE guild_id = ? AND user_id = ?",
                (days, guild_id, user_id),
            )
            await refresh_schedule(tx, member, now, self.roles)
        return days

    async def member_context(self, guild_id: int, user_id: int) -> MemberContext | None:
        """Where a member is, for the Q&A helper; None when they are not on the roadmap."""
        row = await self.db.fetch_one(MEMBER_SQL, (guild_id, user_id))
        if row is None:
            return None
        member = member_from_row(row)
        roadmap = await self.catalog.get(guild_id)
        view = await build_view(self.db, member, roadmap, self.clock.now())
        return MemberContext(
            track=view.track.name,
            phase=view.phase_name,
            month=view.month,
            open_milestones=tuple(m.title for m in view.next_up),
            streak_days=view.streak.current,
        )


def phase_name(roadmap: Roadmap, number: int) -> str:
    if number > len(roadmap.phases):
        return "Roadmap complete"
    return roadmap.phase(number).name


async def build_view(
    q: Queryable, member: MemberRecord, roadmap: Roadmap, now: datetime
) -> MemberView:
    track = roadmap.track(member.track)
    if track is None:
        raise DomainError(
            f"Your track '{member.track}' is no longer on this server's roadmap: "
            "/roadmap leave, then /roadmap start on another track."
        )
    today = member.today(now)
    rows = await q.fetch_all(
        "SELECT milestone, title, done_on, archived_at FROM roadmap_milestones "
        "WHERE guild_id = ? AND user_id = ? ORDER BY done_at DESC, milestone",
        (member.guild_id, member.user_id),
    )
    done_order = [r[0] for r in rows if r[3] is None]
    archived = tuple(
        ArchivedMilestone(r[0], r[1] or r[0], date.fromisoformat(r[2]))
        for r in rows
        if r[3] is not None
    )
    done = set(done_order)
    progress = phase_progress(roadmap, member.track, done)
    effective_start = plan_start(member.start_date, member.paused_days, member.paused_on, today)
    pauses = await load_pauses(q, member.guild_id, member.user_id)
    mine = roadmap.milestones_for(member.track)
    recent = tuple(m for key in done_order if (m := roadmap.milestone(key)) in mine)[:3]
    phase = current_phase(progress, member.phase_floor)
    return MemberView(
        user_id=member.user_id,
        track=track,
        start_date=member.start_date,
        timezone=member.zone_name,
        month=plan_month(effective_start, today),
        phase=phase,
        phase_name=phase_name(roadmap, phase),
        progress=tuple(progress),
        done_recently=recent,
        next_up=tuple(m for m in mine if m.key not in done)[:3],
        pace=pace(progress, effective_start, today),
        paused_since=member.paused_on,
        streak=summary_of(member, pauses, now, await week_days_of(q, member, today)),
        buddy_id=member.buddy_id,
        archived=archived,
    )


async def remove_member(tx: Transaction, guild_id: int, user_id: int) -> int:
    """Delete a member's roadmap rows in one server; returns how many rows went."""
    removed = 0
    await tx.execute(
        "UPDATE roadmap_members SET buddy_id = NULL, nudge_due_at = NULL "
        "WHERE guild_id = ? AND buddy_id = ?",
        (guild_id, user_id),
    )
    for sql in (
        "DELETE FROM roadmap_period_stats WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM roadmap_checkins WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM roadmap_milestones WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM roadmap_pauses WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM roadmap_phase_entries WHERE guild_id = ? AND user_id = ?",
        "DELETE FROM roadmap_buddy_requests WHERE guild_id = ? AND (from_user = ? OR to_user = ?)",
        "DELETE FROM roadmap_members WHERE guild_id = ? AND user_id = ?",
    ):
        params = (guild_id, user_id, user_id) if "to_user" in sql else (guild_id, user_id)
        removed += await tx.execute(sql, params)
    return removed
