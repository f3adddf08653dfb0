"""Weekly challenges run by moderators: create, schedule, extend, cancel, close, score."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from bot.clock import Clock, from_db_time, to_db_time
from bot.config import Settings
from bot.db import Database, Row, from_row
from bot.errors import DomainError, NotFound
from bot.markdown import inline
from bot.services.challenges.model import (
    Override,
    Standing,
    Weekly,
    WeeklyResults,
    WeeklyStart,
)
from bot.services.challenges.points import rank
from bot.services.challenges.timeutil import format_local, parse_local_datetime
from bot.services.guild_settings import GuildSettingsService

log = logging.getLogger(__name__)

START_KIND = "challenge:weekly-start"
RESULTS_KIND = "challenge:weekly-results"
TITLE_MAX, BRIEF_MAX, RULES_MAX, REASON_MAX = 100, 1500, 1000, 300
TOP_COUNT = 3

WEEKLY_COLUMNS = (
    "id, guild_id, title, brief, rules, starts_at, deadline, status, channel_id, message_id,"
    " thread_id, created_by, results_posted_at"
)


def weekly_from_row(row: Row) -> Weekly:
    return from_row(Weekly, row, results_posted=row["results_posted_at"] is not None)


class WeeklyService:
    def __init__(
        self, db: Database, clock: Clock, settings: Settings, guild_settings: GuildSettingsService
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.guild_settings = guild_settings
        self.shards = settings.shard_scope  # the due starts and results of these servers

    async def create(
        self,
        guild_id: int,
        moderator_id: int,
        *,
        title: str,
        brief: str,
        rules: str,
        deadline: str,
        starts: str | None = None,
    ) -> Weekly:
        gs = await self.guild_settings.get(guild_id)
        if gs.challenge_channel_id is None:
            raise DomainError(
                "No challenge channel is set: a moderator sets one with "
                "/config channel kind:Challenges first."
            )
        title, brief, rules = (
            _required(title, "title", TITLE_MAX),
            _required(brief, "brief", BRIEF_MAX),
            _required(rules, "rules", RULES_MAX),
        )
        now = self.clock.now()
        zone = gs.zone
        starts_at = (
            parse_local_datetime(starts, zone, "start time") if (starts or "").strip() else now
        )
        deadline_at = parse_local_datetime(deadline, zone, "deadline")
        if starts_at < now - timedelta(minutes=1):
            raise DomainError("The start time is in the past: leave it empty to start now.")
        self._check_deadline(deadline_at, starts_at, now, zone)
        async with self.db.transaction() as conn:
            running = await conn.fetch_one(
                "SELECT title FROM weekly_challenges WHERE guild_id = ?"
                " AND status IN ('scheduled', 'open') AND deadline > ? LIMIT 1",
                (guild_id, to_db_time(now)),
            )
            if running is not None:
                raise DomainError(
                    f"'{inline(running['title'])}' is still running or scheduled: one weekly "
                    "challenge at a time. Cancel it or wait for its deadline."
                )
            new_id = await conn.fetch_value(
                "INSERT INTO weekly_challenges (guild_id, title, brief, rules, starts_at, deadline,"
                " status, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, 'scheduled', ?, ?)"
                " RETURNING id",
                (
                    guild_id,
                    title,
                    brief,
                    rules,
                    to_db_time(starts_at),
                    to_db_time(deadline_at),
                    moderator_id,
                    to_db_time(now),
                ),
            )
            weekly_id = new_id
        return await self.get(guild_id, weekly_id)

    def _check_deadline(self, deadline: datetime, starts: datetime, now: datetime, zone) -> None:
        if deadline <= now:
            raise DomainError(
                f"That deadline ({format_local(deadline, zone)}) is in the past: pick a later one."
            )
        if deadline <= starts + timedelta(hours=1):
            raise DomainError("The deadline must be at least an hour after the start.")
        limit = self.settings.challenge_weekly_max_days
        if deadline > now + timedelta(days=limit):
            raise DomainError(f"The deadline must be within {limit} days.")

    async def get(self, guild_id: int, weekly_id: int) -> Weekly:
        row = await self.db.fetch_one(
            f"SELECT {WEEKLY_COLUMNS} FROM weekly_challenges WHERE id = ? AND guild_id = ?",
            (weekly_id, guild_id),
        )
        if row is None:
            raise NotFound("There is no such weekly challenge in this server.")
        return weekly_from_row(row)

    async def open_weekly(self, guild_id: int) -> Weekly | None:
        """The weekly challenge running now, if any."""
        row = await self.db.fetch_one(
            f"SELECT {WEEKLY_COLUMNS} FROM weekly_challenges WHERE guild_id = ? AND status = 'open'"
            " ORDER BY deadline LIMIT 1",
            (guild_id,),
        )
        return None if row is None else weekly_from_row(row)

    async def current(self, guild_id: int) -> Weekly:
        """The open or scheduled weekly challenge, for moderators' commands."""
        row = await self.db.fetch_one(
            f"SELECT {WEEKLY_COLUMNS} FROM weekly_challenges WHERE guild_id = ?"
            " AND status IN ('open', 'scheduled') AND results_posted_at IS NULL"
            " ORDER BY status = 'scheduled', deadline LIMIT 1",
            (guild_id,),
        )
        if row is None:
            raise NotFound("No weekly challenge is running or scheduled.")
        return weekly_from_row(row)

    async def latest(self, guild_id: int) -> Weekly:
        row = await self.db.fetch_one(
            f"SELECT {WEEKLY_COLUMNS} FROM weekly_challenges WHERE guild_id = ?"
            " AND status != 'cancelled' ORDER BY id DESC LIMIT 1",
            (guild_id,),
        )
        if row is None:
            raise NotFound("This server has had no weekly challenge yet.")
        return weekly_from_row(row)

    # --- Scheduled work ---------------------------------------------------------

    async def start(self, weekly: Weekly) -> WeeklyStart | None:
        """What posting `weekly` takes now: None unless it is still scheduled, its start has
        come and the server has a challenge channel."""
        if weekly.status != "scheduled" or weekly.starts_at > self.clock.now():
            return None
        gs = await self.guild_settings.get(weekly.guild_id)
        if gs.challenge_channel_id is None:
            log.warning("Weekly %s: guild %s has no challenge channel", weekly.id, weekly.guild_id)
            return None
        return WeeklyStart(replace(weekly, status="open"), gs.challenge_channel_id)

    async def due_starts(self, now: datetime) -> list[Weekly]:
        rows = await self.db.fetch_all(
            f"SELECT {WEEKLY_COLUMNS} FROM weekly_challenges WHERE status = 'scheduled'"
            f" AND starts_at <= ? AND deadline > ? AND {self.shards.sql('guild_id')}"
            " ORDER BY starts_at",
            (to_db_time(now), to_db_time(now)),
        )
        return [weekly_from_row(r) for r in rows]

    async def mark_started(
        self, weekly_id: int, channel_id: int, message_id: int, thread_id: int | None
    ) -> None:
        await self.db.execute(
            "UPDATE weekly_challenges SET status = 'open', channel_id = ?, message_id = ?,"
            " thread_id = ? WHERE id = ? AND status = 'scheduled'",
            (channel_id, message_id, thread_id, weekly_id),
        )

    async def due_results(self, now: datetime) -> list[Weekly]:
        rows = await self.db.fetch_all(
            f"SELECT {WEEKLY_COLUMNS} FROM weekly_challenges WHERE status IN ('open', 'closed')"
            f" AND deadline <= ? AND results_posted_at IS NULL AND {self.shards.sql('guild_id')}"
            " ORDER BY deadline",
            (to_db_time(now),),
        )
        return [weekly_from_row(r) for r in rows]

    async def close(self, guild_id: int, weekly_id: int) -> WeeklyResults:
        """Stop submissions (idempotent) and return the accepted ones, best first."""
        await self.db.execute(
            "UPDATE weekly_challenges SET status = 'closed' WHERE id = ? AND status = 'open'",
            (weekly_id,),
        )
        return await self.results(guild_id, weekly_id)

    async def results(self, guild_id: int, weekly_id: int) -> WeeklyResults:
        weekly = await self.get(guild_id, weekly_id)
        rows = await self.db.fetch_all(
            "SELECT user_id, points AS total FROM challenge_submissions WHERE guild_id = ?"
            " AND kind = 'weekly' AND ref = ? AND status = 'accepted'"
            " ORDER BY points DESC, submitted_at ASC, id ASC",
            (guild_id, str(weekly_id)),
        )
        submitted = await self.db.fetch_value(
            "SELECT COUNT(*) FROM challenge_submissions WHERE guild_id = ? AND kind = 'weekly'"
            " AND ref = ?",
            (guild_id, str(weekly_id)),
        )
        return WeeklyResults(weekly, tuple(rank(rows)), submitted)

    async def mark_results_posted(self, weekly_id: int) -> None:
        await self.db.execute(
            "UPDATE weekly_challenges SET results_posted_at = ? WHERE id = ?",
            (to_db_time(self.clock.now()), weekly_id),
        )

    # --- Moderators' changes ------------------------------------------------------

    async def extend(self, guild_id: int, text: str) -> Weekly:
        weekly = await self.current(guild_id)
        zone = (await self.guild_settings.get(guild_id)).zone
        now = self.clock.now()
        if weekly.deadline <= now:
            raise DomainError("Its deadline has passed already; the results are on their way.")
        new = parse_local_datetime(text, zone, "deadline")
        if new <= weekly.deadline:
            raise DomainError(
                f"The new deadline must be later than the current one "
                f"({format_local(weekly.deadline, zone)})."
            )
        self._check_deadline(new, weekly.starts_at, now, zone)
        await self.db.execute(
            "UPDATE weekly_challenges SET deadline = ? WHERE id = ? AND status IN"
            " ('open', 'scheduled')",
            (to_db_time(new), weekly.id),
        )
        return await self.get(guild_id, weekly.id)

    async def cancel(self, guild_id: int) -> tuple[Weekly, int]:
        """Cancel the running or scheduled challenge; points it gave are withdrawn."""
        weekly = await self.current(guild_id)
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE weekly_challenges SET status = 'cancelled' WHERE id = ?", (weekly.id,)
            )
            changed = await conn.execute(
                "DELETE FROM challenge_points WHERE guild_id = ? AND source = 'weekly' AND ref = ?",
                (guild_id, str(weekly.id)),
            )
            withdrawn = changed
        return await self.get(guild_id, weekly.id), withdrawn

    async def override(
        self, guild_id: int, submission_id: int, moderator_id: int, points: int, reason: str
    ) -> Override:
        """Change an accepted weekly score; every change is logged with its reason."""
        reason = (reason or "").strip()
        if not reason:
            raise DomainError("Give a reason for the override; it is kept in the log.")
        if len(reason) > REASON_MAX:
            raise DomainError(f"Keep the reason under {REASON_MAX} characters.")
        if not 1 <= points <= 100:
            raise DomainError("Points must be a whole number from 1 to 100.")
        now = to_db_time(self.clock.now())
        async with self.db.transaction() as conn:
            row = await conn.fetch_one(
                "SELECT s.user_id, s.points, s.ref, w.status FROM challenge_submissions s"
                " JOIN weekly_challenges w ON w.id = CAST(s.ref AS INTEGER)"
                " WHERE s.id = ? AND s.guild_id = ? AND s.kind = 'weekly'"
                " AND s.status = 'accepted'",
                (submission_id, guild_id),
            )
            if row is None:
                raise NotFound("No accepted weekly submission has that number in this server.")
            if row["user_id"] == moderator_id:
                raise DomainError(
                    "That is your own submission: another moderator has to change its score."
                )
            if row["status"] == "cancelled":
                raise DomainError("That weekly challenge was cancelled; its scores are void.")
            if row["points"] == points:
                raise DomainError(f"That submission already has {points} points.")
            await conn.execute(
                "UPDATE challenge_submissions SET points = ? WHERE id = ?", (points, submission_id)
            )
            await conn.execute(
                "UPDATE challenge_points SET points = ? WHERE guild_id = ? AND user_id = ?"
                " AND source = 'weekly' AND ref = ?",
                (points, guild_id, row["user_id"], row["ref"]),
            )
            new_id = await conn.fetch_value(
                "INSERT INTO weekly_score_overrides (guild_id, submission_id, user_id,"
                " old_points, new_points, moderator_id, reason, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (guild_id, submission_id, row["user_id"], row["points"], points, moderator_id,
                 reason, now),
            )  # fmt: skip
            override_id = new_id
        return Override(
            override_id,
            submission_id,
            row["user_id"],
            row["points"],
            points,
            moderator_id,
            reason,
            from_db_time(now),
        )

    async def overrides(self, guild_id: int, limit: int = 25) -> list[Override]:
        rows = await self.db.fetch_all(
            "SELECT id, submission_id, user_id, old_points, new_points, moderator_id, reason,"
            " created_at FROM weekly_score_overrides WHERE guild_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (guild_id, limit),
        )
        return [
            Override(
                r["id"], r["submission_id"], r["user_id"], r["old_points"], r["new_points"],
                r["moderator_id"], r["reason"], from_db_time(r["created_at"]),
            )
            for r in rows
        ]  # fmt: skip


def _required(text: str, what: str, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise DomainError(f"The {what} cannot be empty.")
    if len(value) > limit:
        raise DomainError(f"The {what} is {len(value)} characters; the limit is {limit}.")
    return value


def top_three(results: WeeklyResults) -> tuple[Standing, ...]:
    return tuple(s for s in results.accepted if s.rank <= TOP_COUNT)
