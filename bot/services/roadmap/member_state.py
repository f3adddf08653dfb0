"""A member's row, read and derived inside a write transaction (plain sqlite3, one thread).

Write paths run as synchronous functions on the writer connection (`Database.run_transaction`),
so a whole check-in is one transaction in one call; these helpers are what they share.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import DomainError, NotFound
from bot.services.roadmap.dates import DAY, at_local, local_date, parse_date
from bot.services.roadmap.streaks import (
    Pauses,
    StreakState,
    breaks_at,
    standing,
)
from bot.timezones import local_midnight, parse_time_of_day

STREAK_THRESHOLDS = (7, 30, 100)
NUDGE_AFTER_MISSED_DAYS = 2

MEMBER_SQL = (
    "SELECT m.*, COALESCE(g.timezone, 'UTC') AS server_timezone FROM roadmap_members m "
    "LEFT JOIN guild_settings g ON g.guild_id = m.guild_id "
    "WHERE m.guild_id = ? AND m.user_id = ?"
)

NOT_ENROLLED = "You are not on the roadmap in this server yet: start with /roadmap start."


@dataclass(frozen=True)
class MemberRecord:
    guild_id: int
    user_id: int
    track: str
    start_date: date
    timezone: str | None
    server_timezone: str
    weekly_goal: int
    paused_on: date | None
    paused_days: int
    phase: int
    streak: StreakState
    alive_until: datetime | None
    checkins_total: int
    checkin_days: int
    minutes_total: int
    milestones_done: int
    buddy_id: int | None
    remind_time: str | None
    quiet_start: str | None
    quiet_end: str | None
    remind_next_at: datetime | None
    remind_misses: int
    phase_role_id: int | None
    streak_role_id: int | None
    enrolled_at: datetime

    @property
    def zone_name(self) -> str:
        return self.timezone or self.server_timezone

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    @property
    def paused(self) -> bool:
        return self.paused_on is not None

    def today(self, now: datetime) -> date:
        return local_date(now, self.zone)


def parse_db_time(text: str) -> datetime:
    """`from_db_time` without strptime: this runs several times on every check-in."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _time(text: str | None) -> datetime | None:
    return None if text is None else parse_db_time(text)


def member_from_row(row: Any) -> MemberRecord:
    """A member from a MEMBER_SQL row (a sqlite3.Row, or a dict made of one)."""
    if not isinstance(row, dict):  # a Row's lookups by name scan its columns: read them once
        row = dict(zip(row.keys(), row, strict=True))
    streak = StreakState(
        current=row["current_streak"],
        best=row["best_streak"],
        freezes=row["freezes"],
        last_date=parse_date(row["last_date"]),
        last_at=_time(row["last_at"]),
        run_start=parse_date(row["run_start"]),
        week_days=row["week_days"],
    )
    return MemberRecord(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        track=row["track"],
        start_date=date.fromisoformat(row["start_date"]),
        timezone=row["timezone"],
        server_timezone=row["server_timezone"],
        weekly_goal=row["weekly_goal"],
        paused_on=parse_date(row["paused_on"]),
        paused_days=row["paused_days"],
        phase=row["phase"],
        streak=streak,
        alive_until=_time(row["alive_until"]),
        checkins_total=row["checkins_total"],
        checkin_days=row["checkin_days"],
        minutes_total=row["minutes_total"],
        milestones_done=row["milestones_done"],
        buddy_id=row["buddy_id"],
        remind_time=row["remind_time"],
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
        remind_next_at=_time(row["remind_next_at"]),
        remind_misses=row["remind_misses"],
        phase_role_id=row["phase_role_id"],
        streak_role_id=row["streak_role_id"],
        enrolled_at=parse_db_time(row["enrolled_at"]),
    )


def load_member(conn: sqlite3.Connection, guild_id: int, user_id: int) -> MemberRecord | None:
    row = conn.execute(MEMBER_SQL, (guild_id, user_id)).fetchone()
    return None if row is None else member_from_row(row)


def require_member_values(conn: sqlite3.Connection, guild_id: int, user_id: int) -> dict[str, Any]:
    """The member's MEMBER_SQL row as a dict, as stored (for comparing before an update)."""
    row = conn.execute(MEMBER_SQL, (guild_id, user_id)).fetchone()
    if row is None:
        raise NotFound(NOT_ENROLLED)
    return dict(zip(row.keys(), row, strict=True))


def require_member(conn: sqlite3.Connection, guild_id: int, user_id: int) -> MemberRecord:
    return member_from_row(require_member_values(conn, guild_id, user_id))


def require_active(member: MemberRecord) -> None:
    if member.paused:
        raise DomainError("Your roadmap is paused: use /roadmap resume first.")


def load_pauses(conn: sqlite3.Connection, guild_id: int, user_id: int) -> Pauses:
    rows = conn.execute(
        "SELECT start_date, end_date FROM roadmap_pauses WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ).fetchall()
    return Pauses((date.fromisoformat(r[0]), parse_date(r[1])) for r in rows)


@dataclass(frozen=True)
class RoleMap:
    """A server's role mapping: phase number -> role, streak threshold -> role.

    `frozen` roles belong to suspended mappings (the role became dangerous): the bot
    neither gives them nor takes them away until a moderator maps a safe role again.
    """

    phases: dict[int, int]
    streaks: dict[int, int]
    frozen: frozenset[int] = frozenset()

    @property
    def empty(self) -> bool:
        return not self.phases and not self.streaks

    @property
    def role_ids(self) -> set[int]:
        return set(self.phases.values()) | set(self.streaks.values())

    def desired(self, phase: int, streak: int) -> tuple[int | None, int | None]:
        phase_role = None
        if self.phases:
            reached = [p for p in self.phases if p <= phase]
            phase_role = self.phases[max(reached)] if reached else None
        streak_role = None
        reached_streak = [t for t in self.streaks if t <= streak]
        if reached_streak:
            streak_role = self.streaks[max(reached_streak)]
        return phase_role, streak_role

    @classmethod
    def from_rows(cls, rows: list[Any]) -> RoleMap:
        """From (kind, level, role_id, suspended_at) rows of roadmap_roles."""
        active = [r for r in rows if r[3] is None]
        return cls(
            phases={r[1]: r[2] for r in active if r[0] == "phase"},
            streaks={r[1]: r[2] for r in active if r[0] == "streak"},
            frozen=frozenset(r[2] for r in rows if r[3] is not None),
        )

    def settled(self, phase: int, streak: int, held: tuple[int | None, int | None]) -> bool:
        """Whether `held` (phase role, streak role) is what the member should hold; a
        frozen role nobody should get any more is left where it is."""
        return all(
            wanted == have or (wanted is None and have in self.frozen)
            for wanted, have in zip(self.desired(phase, streak), held, strict=True)
        )


def load_role_map(conn: sqlite3.Connection, guild_id: int) -> RoleMap:
    rows = conn.execute(
        "SELECT kind, level, role_id, suspended_at FROM roadmap_roles WHERE guild_id = ?"
        " AND broken_at IS NULL",
        (guild_id,),
    ).fetchall()
    return RoleMap.from_rows(rows)


def missed_days_end(after: date, misses: int, pauses: Pauses, zone: ZoneInfo) -> datetime | None:
    """When the `misses`-th non-excused day after `after` ends (None while paused)."""
    day, counted = after, 0
    for _ in range(3660):
        day += DAY
        if pauses.is_excused(day):
            opening = pauses.open_since()
            if opening is not None and day >= opening:
                return None
            continue
        counted += 1
        if counted == misses:
            return local_midnight(day + DAY, zone)
    return None


def nudge_due(
    member: MemberRecord, streak: StreakState, pauses: Pauses, not_before: date | None = None
) -> datetime | None:
    """When the member's buddy is nudged: the end of their second missed day in a row."""
    if member.buddy_id is None or member.paused:
        return None
    base = streak.last_date or local_date(member.enrolled_at, member.zone)
    if not_before is not None:
        base = max(base, not_before)
    return missed_days_end(base, NUDGE_AFTER_MISSED_DAYS, pauses, member.zone)


def alive_until(member: MemberRecord, streak: StreakState, pauses: Pauses) -> datetime | None:
    return breaks_at(streak, member.weekly_goal, pauses, member.zone)


def effective_streak(member: MemberRecord, pauses: Pauses, now: datetime) -> int:
    return standing(
        member.streak, now, member.today(now), member.weekly_goal, pauses, member.zone
    ).current


def roles_dirty(member: MemberRecord, roles: RoleMap, phase: int, streak: int) -> int:
    if roles.empty and member.phase_role_id is None and member.streak_role_id is None:
        return 0
    return int(not roles.settled(phase, streak, (member.phase_role_id, member.streak_role_id)))


def in_quiet_hours(local: time, start: str | None, end: str | None) -> bool:
    if start is None or end is None:
        return False
    quiet_from, quiet_to = parse_time_of_day(start), parse_time_of_day(end)
    if quiet_from <= quiet_to:
        return quiet_from <= local < quiet_to
    return local >= quiet_from or local < quiet_to


def next_reminder(
    remind_time: str | None, zone: ZoneInfo, after: datetime, paused: bool
) -> datetime | None:
    """The first reminder instant strictly after `after`, or None when off or paused."""
    if remind_time is None or paused:
        return None
    clock_time = parse_time_of_day(remind_time)
    day = local_date(after, zone)
    for offset in range(3):
        candidate = at_local(day + offset * DAY, clock_time, zone)
        if candidate > after:
            return candidate
    raise AssertionError("a reminder time always recurs within two days")


def db_time(when: datetime | None) -> str | None:
    """`to_db_time` (same text) without strftime, for the check-in path; None stays None."""
    if when is None:
        return None
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def refresh_schedule(conn: sqlite3.Connection, member: MemberRecord, now: datetime) -> None:
    """Recompute every derived instant of a member after a change of zone, goal or pause."""
    member = require_member(conn, member.guild_id, member.user_id)
    pauses = load_pauses(conn, member.guild_id, member.user_id)
    roles = load_role_map(conn, member.guild_id)
    streak = effective_streak(member, pauses, now)
    conn.execute(
        "UPDATE roadmap_members SET alive_until = ?, nudge_due_at = ?, remind_next_at = ?, "
        "roles_dirty = ? WHERE guild_id = ? AND user_id = ?",
        (
            db_time(alive_until(member, member.streak, pauses)),
            db_time(nudge_due(member, member.streak, pauses)),
            db_time(next_reminder(member.remind_time, member.zone, now, member.paused)),
            roles_dirty(member, roles, member.phase, streak),
            member.guild_id,
            member.user_id,
        ),
    )
