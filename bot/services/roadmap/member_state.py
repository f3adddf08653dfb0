"""A member's row and what is derived from it: the helpers every roadmap write shares.

Each helper takes `q`, a transaction or the database itself (both have the read helpers),
so the same code reads inside a write transaction or outside one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from bot.db import Database, Row, Transaction, from_row
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
    phase_floor: int  # the phase a content update found them in: never recomputed below
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


Queryable = Database | Transaction


def member_from_row(row: Row | dict[str, Any]) -> MemberRecord:
    """A member from a MEMBER_SQL row (a row, or a dict made of one)."""
    values = row if isinstance(row, dict) else dict(zip(row.keys(), row, strict=True))
    streak = from_row(
        StreakState, values, current=values["current_streak"], best=values["best_streak"]
    )
    return from_row(MemberRecord, values, streak=streak)


async def load_member(q: Queryable, guild_id: int, user_id: int) -> MemberRecord | None:
    row = await q.fetch_one(MEMBER_SQL, (guild_id, user_id))
    return None if row is None else member_from_row(row)


async def require_member(q: Queryable, guild_id: int, user_id: int) -> MemberRecord:
    member = await load_member(q, guild_id, user_id)
    if member is None:
        raise NotFound(NOT_ENROLLED)
    return member


async def lock_member(tx: Transaction, guild_id: int, user_id: int) -> MemberRecord:
    """The member, read under the member's lock: their writes run one after the other."""
    await tx.lock("roadmap-member", guild_id, user_id)
    return await require_member(tx, guild_id, user_id)


def require_active(member: MemberRecord) -> None:
    if member.paused:
        raise DomainError("Your roadmap is paused: use /roadmap resume first.")


async def load_pauses(q: Queryable, guild_id: int, user_id: int) -> Pauses:
    rows = await q.fetch_all(
        "SELECT start_date, end_date FROM roadmap_pauses WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    )
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


async def load_role_map(q: Queryable, guild_id: int) -> RoleMap:
    rows = await q.fetch_all(
        "SELECT kind, level, role_id, suspended_at FROM roadmap_roles WHERE guild_id = ?"
        " AND broken_at IS NULL",
        (guild_id,),
    )
    return RoleMap.from_rows(rows)


class RoleMaps:
    """Each server's role map, read once and kept: it changes only through `RoleService`,
    which calls `forget`, and every check-in needs it. (A stale map can only mark a member's
    roles for a check they did not need; the daily re-sync reads the map afresh.)"""

    def __init__(self) -> None:
        self._maps: dict[int, RoleMap] = {}

    async def get(self, q: Queryable, guild_id: int) -> RoleMap:
        found = self._maps.get(guild_id)
        if found is None:
            found = self._maps[guild_id] = await load_role_map(q, guild_id)
        return found

    def forget(self, guild_id: int) -> None:
        self._maps.pop(guild_id, None)


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


async def refresh_schedule(
    tx: Transaction, member: MemberRecord, now: datetime, roles: RoleMaps
) -> None:
    """Recompute every derived instant of a member after a change of zone, goal or pause."""
    member = await require_member(tx, member.guild_id, member.user_id)
    pauses = await load_pauses(tx, member.guild_id, member.user_id)
    role_map = await roles.get(tx, member.guild_id)
    streak = effective_streak(member, pauses, now)
    await tx.execute(
        "UPDATE roadmap_members SET alive_until = ?, nudge_due_at = ?, remind_next_at = ?, "
        "roles_dirty = ? WHERE guild_id = ? AND user_id = ?",
        (
            alive_until(member, member.streak, pauses),
            nudge_due(member, member.streak, pauses),
            next_reminder(member.remind_time, member.zone, now, member.paused),
            roles_dirty(member, role_map, member.phase, streak),
            member.guild_id,
            member.user_id,
        ),
    )
