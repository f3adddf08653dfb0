"""Daily reminders and buddy nudges: settings, and what is due at an instant.

Both are found through partial indexes on their next-due time. A reminder goes out on the
member's local day at their time, only if they have not checked in that day, never inside
their quiet hours; a day that passed while the bot was down is skipped, not sent late the
next day. Three undelivered days in a row turn reminders off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from bot.clock import Clock, from_db_time
from bot.db import Database, from_row
from bot.errors import DomainError
from bot.services.roadmap.dates import at_local, local_date
from bot.services.roadmap.member_state import (
    MEMBER_SQL,
    in_quiet_hours,
    load_member,
    lock_member,
    member_from_row,
    next_reminder,
)
from bot.shards import EVERY_SHARD, ShardScope
from bot.timezones import format_time_of_day, parse_time_of_day

QUIET_RANGE = re.compile(r"^\s*(\d{1,2}:\d{2})\s*(?:-|–|to)\s*(\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class ReminderSettings:
    time: str
    quiet_start: str | None
    quiet_end: str | None
    timezone: str
    next_at: datetime | None


@dataclass(frozen=True)
class ReminderDue:
    guild_id: int
    user_id: int
    day: date
    streak: int
    checkin_channel_id: int | None
    last_try: bool  # one more undelivered day turns reminders off

    @property
    def period(self) -> str:
        return f"{self.user_id}:{self.day.isoformat()}"


@dataclass(frozen=True)
class NudgeDue:
    guild_id: int
    buddy_id: int  # who is nudged
    user_id: int  # who missed two days
    last_day: date | None
    checkin_channel_id: int | None
    due_at: str  # nudge_due_at as read: finishing clears it only if it is still this

    @property
    def period(self) -> str:
        return f"{self.user_id}:{self.last_day.isoformat() if self.last_day else 'never'}"


def parse_quiet_hours(text: str | None) -> tuple[str | None, str | None]:
    if text is None or not text.strip():
        return None, None
    match = QUIET_RANGE.match(text)
    if match is None:
        raise DomainError(
            f"'{text.strip()[:20]}' is not a range of hours: write it like 22:00-07:00."
        )
    start, end = (format_time_of_day(parse_time_of_day(g)) for g in match.groups())
    if start == end:
        raise DomainError("Quiet hours need a different start and end.")
    return start, end


class ReminderService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        default_time: str,
        max_misses: int,
        *,
        shards: ShardScope = EVERY_SHARD,
    ) -> None:
        self.db = db
        self.clock = clock
        self.shards = shards  # `due` and `due_nudges` pick this process's servers only
        self.default_time = default_time
        self.max_misses = max_misses

    async def turn_on(
        self, guild_id: int, user_id: int, time: str | None = None, quiet: str | None = None
    ) -> ReminderSettings:
        clock_time = format_time_of_day(parse_time_of_day(time or self.default_time))
        quiet_start, quiet_end = parse_quiet_hours(quiet)
        if in_quiet_hours(parse_time_of_day(clock_time), quiet_start, quiet_end):
            raise DomainError(
                f"{clock_time} is inside your quiet hours ({quiet_start}-{quiet_end}): "
                "pick a reminder time outside them."
            )
        now = self.clock.now()

        async with self.db.transaction() as tx:
            member = await lock_member(tx, guild_id, user_id)
            next_at = next_reminder(clock_time, member.zone, now, member.paused)
            await tx.execute(
                "UPDATE roadmap_members SET remind_time = ?, quiet_start = ?, quiet_end = ?, "
                "remind_next_at = ?, remind_misses = 0 WHERE guild_id = ? AND user_id = ?",
                (clock_time, quiet_start, quiet_end, next_at, guild_id, user_id),
            )
        return ReminderSettings(clock_time, quiet_start, quiet_end, member.zone_name, next_at)

    async def turn_off(self, guild_id: int, user_id: int) -> bool:
        """Turn reminders off; False when they already were."""

        async with self.db.transaction() as tx:
            member = await lock_member(tx, guild_id, user_id)
            await tx.execute(
                "UPDATE roadmap_members SET remind_time = NULL, remind_next_at = NULL, "
                "remind_misses = 0 WHERE guild_id = ? AND user_id = ?",
                (guild_id, user_id),
            )
        return member.remind_time is not None

    async def due(self, now: datetime, limit: int) -> list[ReminderDue]:
        """Reminders to send now; reminders that no longer apply are moved to their next day."""

        rows = await self.db.fetch_all(
            "SELECT m.*, COALESCE(g.timezone, 'UTC') AS server_timezone, "
            "g.checkin_channel_id FROM roadmap_members m "
            "LEFT JOIN guild_settings g ON g.guild_id = m.guild_id "
            "WHERE m.remind_next_at IS NOT NULL AND m.remind_next_at <= ? "
            f"AND {self.shards.sql('m.guild_id')} "
            "ORDER BY m.remind_next_at LIMIT ?",
            (now, limit),
        )
        due = []
        for row in rows:
            member = member_from_row(row)
            zone = member.zone
            assert member.remind_next_at is not None and member.remind_time is not None
            day = local_date(member.remind_next_at, zone)
            local_now = now.astimezone(zone)
            checked_in = await self.db.fetch_one(
                "SELECT 1 FROM roadmap_checkins WHERE guild_id = ? AND user_id = ? "
                "AND local_date = ? LIMIT 1",
                (member.guild_id, member.user_id, day),
            )
            later: datetime | None = None
            if local_now.date() != day or checked_in is not None or member.paused:
                later = next_reminder(member.remind_time, zone, now, member.paused)
            elif in_quiet_hours(local_now.time(), member.quiet_start, member.quiet_end):
                assert member.quiet_end is not None
                end = at_local(day, parse_time_of_day(member.quiet_end), zone)
                later = end if end > now else next_reminder(member.remind_time, zone, now, False)
            if later is not None:
                await self._reschedule(
                    member.guild_id, member.user_id, member.remind_next_at, later
                )
                continue
            due.append(
                ReminderDue(
                    guild_id=member.guild_id,
                    user_id=member.user_id,
                    day=day,
                    streak=member.streak.current,
                    checkin_channel_id=row["checkin_channel_id"],
                    last_try=member.remind_misses + 1 >= self.max_misses,
                )
            )
        return due

    async def finish(self, reminder: ReminderDue, delivered_by_dm: bool) -> bool:
        """Record the outcome and schedule the next day; True when reminders were turned off."""
        now = self.clock.now()
        max_misses = self.max_misses

        async with self.db.transaction() as tx:
            await tx.lock("roadmap-member", reminder.guild_id, reminder.user_id)
            member = await load_member(tx, reminder.guild_id, reminder.user_id)
            if member is None or member.remind_time is None:
                return False
            misses = 0 if delivered_by_dm else member.remind_misses + 1
            if misses >= max_misses:
                await tx.execute(
                    "UPDATE roadmap_members SET remind_time = NULL, remind_next_at = NULL, "
                    "remind_misses = 0 WHERE guild_id = ? AND user_id = ?",
                    (reminder.guild_id, reminder.user_id),
                )
                return True
            zone = member.zone
            assert member.remind_time is not None
            sent_slot = at_local(reminder.day, parse_time_of_day(member.remind_time), zone)
            later = next_reminder(member.remind_time, zone, max(now, sent_slot), member.paused)
            await tx.execute(
                "UPDATE roadmap_members SET remind_misses = ?, remind_next_at = ? "
                "WHERE guild_id = ? AND user_id = ?",
                (misses, later, reminder.guild_id, reminder.user_id),
            )
        return False

    async def skip(self, reminder: ReminderDue) -> None:
        """Move a reminder that was already sent (found claimed) on to its next day."""
        now = self.clock.now()

        member = await load_member(self.db, reminder.guild_id, reminder.user_id)
        if member is None or member.remind_time is None:
            return
        later = next_reminder(member.remind_time, member.zone, now, member.paused)
        await self._reschedule(reminder.guild_id, reminder.user_id, member.remind_next_at, later)

    async def due_nudges(self, now: datetime, limit: int) -> list[NudgeDue]:
        rows = await self.db.fetch_all(
            "SELECT m.guild_id, m.user_id, m.buddy_id, m.last_date AS last_day, "
            "m.nudge_due_at AS due_at, g.checkin_channel_id "
            "FROM roadmap_members m LEFT JOIN guild_settings g ON g.guild_id = m.guild_id "
            "WHERE m.nudge_due_at IS NOT NULL AND m.nudge_due_at <= ? "
            f"AND {self.shards.sql('m.guild_id')} "
            "ORDER BY m.nudge_due_at LIMIT ?",
            (now, limit),
        )
        due = []
        for row in rows:
            if row["buddy_id"] is None:
                await self._clear_nudge(row["guild_id"], row["user_id"], row["due_at"])
                continue
            due.append(from_row(NudgeDue, row))
        return due

    async def finish_nudge(self, nudge: NudgeDue) -> None:
        """The nudge about this member's lapse was sent (or found sent): once is enough.

        Compare-and-set: a nudge set anew meanwhile (a check-in, a new buddy) stays.
        """
        await self._clear_nudge(nudge.guild_id, nudge.user_id, nudge.due_at)

    async def _clear_nudge(self, guild_id: int, user_id: int, due_at: str) -> None:
        await self.db.execute(
            "UPDATE roadmap_members SET nudge_due_at = NULL WHERE guild_id = ? AND user_id = ?"
            " AND nudge_due_at = ?",
            (guild_id, user_id, due_at),
        )

    async def settings(self, guild_id: int, user_id: int) -> ReminderSettings | None:
        row = await self.db.fetch_one(MEMBER_SQL, (guild_id, user_id))
        if row is None or row["remind_time"] is None:
            return None
        member = member_from_row(row)
        next_at = from_db_time(row["remind_next_at"]) if row["remind_next_at"] else None
        return ReminderSettings(
            row["remind_time"], row["quiet_start"], row["quiet_end"], member.zone_name, next_at
        )

    async def _reschedule(
        self, guild_id: int, user_id: int, was: datetime | None, when: datetime | None
    ) -> None:
        """Move the next reminder, unless a write of the member moved it meanwhile."""
        await self.db.execute(
            "UPDATE roadmap_members SET remind_next_at = ? WHERE guild_id = ? AND user_id = ? "
            "AND remind_next_at IS NOT DISTINCT FROM ?",
            (when, guild_id, user_id, was),
        )
