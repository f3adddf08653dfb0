"""The challenge capability as one service: its parts, the Q&A contract and privacy."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.db import Database
from bot.errors import DomainError
from bot.services.challenges.bank import ChallengeBank
from bot.services.challenges.daily import DailyService
from bot.services.challenges.model import Challenge, MonthTop, Phase, phase_for_month
from bot.services.challenges.points import PointsService
from bot.services.challenges.submissions import SubmissionService
from bot.services.challenges.timeutil import previous_month
from bot.services.challenges.weekly import WeeklyService
from bot.services.contracts import MemberContextSource, OpenChallenge
from bot.services.guild_settings import GuildSettingsService, zone_table
from bot.services.scheduled_posts import ScheduledPosts

MONTH_TOP_KIND = "challenge:month-top"

# (table, column) pairs holding a member's id; the order respects foreign keys.
MEMBER_TABLES = (
    ("weekly_score_overrides", "user_id"),
    ("daily_hints", "user_id"),
    ("daily_answers", "user_id"),
    ("challenge_points", "user_id"),
    ("challenge_submissions", "user_id"),
)
GUILD_TABLES = (
    "weekly_score_overrides",
    "daily_answers",
    "challenge_points",
    "challenge_submissions",
    "weekly_challenges",
    "challenge_disabled",
    "challenge_custom",
)
# A moderator's id on rows that belong to the server: anonymised, not deleted.
ACTOR_COLUMNS = (
    ("weekly_score_overrides", "moderator_id"),
    ("challenge_submissions", "reviewer_id"),
    ("weekly_challenges", "created_by"),
    ("challenge_custom", "created_by"),
    ("challenge_disabled", "disabled_by"),
)


class ChallengeService:
    """Daily and weekly challenges, the bank, points. Implements `MemberDataSource`."""

    privacy_section = "challenges"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        guild_settings: GuildSettingsService,
        scheduled_posts: ScheduledPosts,
        shipped: tuple[Challenge, ...],
        rng: random.Random | None = None,
        *,
        member_context: MemberContextSource | None = None,
    ) -> None:
        self.db = db
        self.member_context = member_context
        self.clock = clock
        self.settings = settings
        self.guild_settings = guild_settings
        self.scheduled_posts = scheduled_posts
        self.bank = ChallengeBank(db, clock, settings, shipped)
        self.daily = DailyService(
            db, clock, settings, self.bank, guild_settings, scheduled_posts, rng
        )
        self.weekly = WeeklyService(db, clock, settings, guild_settings)
        self.submissions = SubmissionService(db, clock, settings, self.daily, self.weekly)
        self.points = PointsService(db, clock, guild_settings)

    async def practice(
        self, guild_id: int, user_id: int, phase: str | None = None, topic: str | None = None
    ) -> Challenge:
        """A practice quiz; without a phase, from the member's roadmap phase (foundations
        when they follow no roadmap)."""
        return await self.daily.practice(
            guild_id, phase or await self._member_phase(guild_id, user_id), topic
        )

    async def _member_phase(self, guild_id: int, user_id: int) -> str:
        if self.member_context is not None:
            try:
                context = await self.member_context.member_context(guild_id, user_id)
            except DomainError:
                context = None
            if context is not None:
                return phase_for_month(context.month).value
        return Phase.FOUNDATIONS.value

    # --- Contracts ------------------------------------------------------------------

    async def open_challenges(self, guild_id: int) -> list[OpenChallenge]:
        """What members are answering right now, so `/ask` does not give it away."""
        found: list[OpenChallenge] = []
        post = await self.daily.open_post(guild_id)
        if post is not None:
            c = post.challenge
            text = c.prompt
            answer = None
            if c.is_quiz:
                text += "\nOptions: " + " | ".join(c.options)
                answer = f"{c.correct_option}. {c.explanation}"
            found.append(OpenChallenge("daily", c.title, text, answer))
        weekly = await self.weekly.open_weekly(guild_id)
        if weekly is not None and weekly.accepts_submissions(self.clock.now()):
            found.append(
                OpenChallenge("weekly", weekly.title, f"{weekly.brief}\n{weekly.rules}", None)
            )
        return found

    async def due_month_tops(self, now: datetime) -> list[MonthTop]:
        """Servers whose previous month's top members have not been posted yet.

        Found in one query from each time zone's previous month (see DailyService.due);
        only the servers due have their standings read.
        """
        zones = await self.guild_settings.zones()
        if not zones:
            return []
        table, values = zone_table(
            "local", ("timezone", "month"), [(z, previous_month(now, ZoneInfo(z))) for z in zones]
        )
        unheld, held_values = self.scheduled_posts.unheld_sql(
            "g.guild_id", MONTH_TOP_KIND, "local.month"
        )
        rows = await self.db.fetch_all(
            f"{table}SELECT g.guild_id, g.challenge_channel_id, local.month FROM guild_settings g"
            " JOIN local ON local.timezone = g.timezone WHERE g.challenge_channel_id IS NOT NULL"
            f" AND {self.guild_settings.shards.sql('g.guild_id')} AND {unheld}"
            " ORDER BY g.guild_id",
            (*values, *held_values),
        )
        due = []
        for guild_id, channel_id, month in rows:
            standings = await self.points.month_standings(
                guild_id, month, self.settings.challenge_month_top
            )
            due.append(MonthTop(guild_id, channel_id, month, tuple(standings)))
        return due

    # --- Personal data (MemberDataSource) -----------------------------------------

    async def export_member(self, user_id: int) -> dict[str, Any]:
        data: dict[str, Any] = {}
        queries = {
            "daily_answers": "SELECT a.guild_id, p.day, p.challenge_id, a.option_index,"
            " a.correct, a.used_hint, a.answered_at FROM daily_answers a"
            " JOIN daily_posts p ON p.id = a.post_id WHERE a.user_id = ? ORDER BY a.answered_at",
            "hints": "SELECT p.guild_id, p.day, p.challenge_id, h.shown_at FROM daily_hints h"
            " JOIN daily_posts p ON p.id = h.post_id WHERE h.user_id = ? ORDER BY h.shown_at",
            "submissions": "SELECT guild_id, kind, ref, link, notes, status, points, comment,"
            " submitted_at, updated_at, reviewed_at FROM challenge_submissions"
            " WHERE user_id = ? ORDER BY submitted_at",
            "points": "SELECT guild_id, source, ref, topic, points, awarded_at"
            " FROM challenge_points WHERE user_id = ? ORDER BY awarded_at",
            "score_overrides": "SELECT guild_id, submission_id, old_points, new_points, reason,"
            " created_at FROM weekly_score_overrides WHERE user_id = ? ORDER BY created_at",
            # What they did as a moderator or reviewer (kept for the server, unnamed, once
            # they erase).
            "challenges_added": "SELECT guild_id, challenge_id, payload, created_at"
            " FROM challenge_custom WHERE created_by = ? ORDER BY created_at",
            "challenges_disabled": "SELECT guild_id, challenge_id, disabled_at"
            " FROM challenge_disabled WHERE disabled_by = ? ORDER BY disabled_at",
            "weekly_challenges_created": "SELECT guild_id, id, title, created_at"
            " FROM weekly_challenges WHERE created_by = ? ORDER BY created_at",
            "submissions_reviewed": "SELECT guild_id, id AS submission_id, status, points,"
            " reviewed_at FROM challenge_submissions WHERE reviewer_id = ? ORDER BY reviewed_at",
            "overrides_made": "SELECT guild_id, submission_id, old_points, new_points, reason,"
            " created_at FROM weekly_score_overrides WHERE moderator_id = ? ORDER BY created_at",
        }
        for name, sql in queries.items():
            data[name] = [dict(row) for row in await self.db.fetch_all(sql, (user_id,))]
        return data

    async def delete_member(self, user_id: int) -> int:
        """Erase the member's answers, hints, submissions, points and override records.

        Daily answer counts on posts stay as anonymous totals; where the member acted as
        a moderator or reviewer, their id is replaced by 0.
        """
        removed = 0
        async with self.db.transaction() as conn:
            for table, column in MEMBER_TABLES:
                changed = await conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (user_id,))
                removed += changed
            for table, column in ACTOR_COLUMNS:
                await conn.execute(
                    f"UPDATE {table} SET {column} = 0 WHERE {column} = ?", (user_id,)
                )
        return removed

    async def delete_guild(self, guild_id: int) -> int:
        removed = 0
        async with self.db.transaction() as conn:
            await conn.execute(
                "DELETE FROM daily_hints WHERE post_id IN"
                " (SELECT id FROM daily_posts WHERE guild_id = ?)",
                (guild_id,),
            )
            for table in GUILD_TABLES:
                changed = await conn.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
                removed += changed
            changed = await conn.execute("DELETE FROM daily_posts WHERE guild_id = ?", (guild_id,))
            removed += changed
        return removed
