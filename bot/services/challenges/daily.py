"""The daily challenge: choosing it, recording the post, answers, hints and practice."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock, to_db_time
from bot.config import Settings
from bot.db import Database, Row, from_row
from bot.errors import DomainError, NotFound
from bot.services.challenges.answers import PendingAnswer, write_answer
from bot.services.challenges.bank import ChallengeBank
from bot.services.challenges.model import (
    AnswerResult,
    Challenge,
    DailyPost,
    Difficulty,
    DueDaily,
    Kind,
    PracticeResult,
)
from bot.services.challenges.timeutil import format_local
from bot.services.guild_settings import GuildSettingsService, zone_table
from bot.services.scheduled_posts import ScheduledPosts
from bot.timezones import format_time_of_day

DAILY_KIND = "challenge:daily"
# A week of posts: mostly easy and medium, one hard.
WEEKLY_DIFFICULTY_SHARE = {Difficulty.EASY: 3, Difficulty.MEDIUM: 3, Difficulty.HARD: 1}
RECENT_WINDOW = 6
POSTED_CACHE_SIZE = 256

POST_COLUMNS = (
    "id, guild_id, day, challenge_id, cycle, channel_id, message_id, thread_id,"
    " answered_count, correct_count, posted_at, closes_at, challenge_payload"
)


def choose_challenge(
    candidates: list[Challenge], recent: list[tuple[str, str, str]], seed: str
) -> Challenge:
    """The candidate that best balances the last week: new topic, at most one task,
    difficulties near 3 easy : 3 medium : 1 hard; ties broken by a per-server hash.

    `recent` holds (topic, difficulty, kind) of the latest posts, newest first.
    """
    topics = Counter(topic for topic, _, _ in recent)
    difficulties = Counter(difficulty for _, difficulty, _ in recent)
    tasks = sum(1 for _, _, kind in recent if kind == Kind.TASK.value)
    last_topic = recent[0][0] if recent else None

    def score(challenge: Challenge) -> tuple[int, int, int, float, str]:
        share = WEEKLY_DIFFICULTY_SHARE[challenge.difficulty]
        overuse = (difficulties[challenge.difficulty.value] + 1) / share
        tiebreak = hashlib.sha256(f"{seed}:{challenge.id}".encode()).hexdigest()
        return (
            int(challenge.topic == last_topic),
            topics[challenge.topic],
            int(challenge.kind is Kind.TASK and tasks > 0),
            overuse,
            tiebreak,
        )

    return min(candidates, key=score)


class DailyService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        bank: ChallengeBank,
        guild_settings: GuildSettingsService,
        scheduled_posts: ScheduledPosts,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.bank = bank
        self.guild_settings = guild_settings
        self.scheduled_posts = scheduled_posts
        self.rng = rng or random.Random()
        self._posted_cache: dict[int, DailyPost] = {}
        self._loading: dict[int, asyncio.Future[DailyPost]] = {}

    # --- Scheduling -------------------------------------------------------------

    async def due(self, now: datetime) -> list[DueDaily]:
        """Servers whose local posting time has come today and whose post isn't claimed.

        Two queries however many servers: the zones in use, then the servers due, found in
        SQL from each zone's local day and time (a tick must not walk every server).
        """
        zones = await self.guild_settings.zones()
        if not zones:
            return []
        local = [(zone, now.astimezone(ZoneInfo(zone))) for zone in zones]
        table, values = zone_table(
            "local",
            ("timezone", "day", "at"),
            [(zone, at.date().isoformat(), format_time_of_day(at.time())) for zone, at in local],
        )
        unheld, held_values = self.scheduled_posts.unheld_sql("g.guild_id", DAILY_KIND, "local.day")
        rows = await self.db.fetch_all(
            f"{table}SELECT g.guild_id, g.challenge_channel_id, local.day FROM guild_settings g"
            " JOIN local ON local.timezone = g.timezone"
            " WHERE g.challenge_channel_id IS NOT NULL AND g.daily_challenge_time <= local.at"
            f" AND {self.guild_settings.shards.sql('g.guild_id')} AND {unheld}"
            " ORDER BY g.guild_id",
            (*values, *held_values),
        )
        return [DueDaily(row[0], row[1], row[2]) for row in rows]

    async def prepare(self, guild_id: int, day: str) -> DailyPost:
        """The challenge for (server, day): chosen once, the same on every retry."""
        existing = await self._post_by_day(guild_id, day)
        if existing is not None:
            return existing
        available = await self.bank.available(guild_id)
        if not available:
            raise DomainError("The challenge bank is empty: every challenge is disabled.")
        async with self.db.transaction() as tx:
            await tx.lock("daily_posts", guild_id)
            cycle = await tx.fetch_value(
                "SELECT COALESCE(MAX(cycle), 1) FROM daily_posts WHERE guild_id = ?", (guild_id,)
            )
            used = {
                row[0]
                for row in await tx.fetch_all(
                    "SELECT challenge_id FROM daily_posts WHERE guild_id = ? AND cycle = ?",
                    (guild_id, cycle),
                )
            }
            recent = [
                (row[0], row[1], row[2])
                for row in await tx.fetch_all(
                    "SELECT topic, difficulty, kind FROM daily_posts WHERE guild_id = ?"
                    " ORDER BY day DESC LIMIT ?",
                    (guild_id, RECENT_WINDOW),
                )
            ]
            candidates = [c for c in available if c.id not in used]
            if not candidates:
                cycle += 1
                last = await tx.fetch_value(
                    "SELECT challenge_id FROM daily_posts WHERE guild_id = ?"
                    " ORDER BY day DESC LIMIT 1",
                    (guild_id,),
                )
                candidates = [c for c in available if c.id != last] or available
            chosen = choose_challenge(candidates, recent, f"{guild_id}:{day}")
            await tx.execute(
                "INSERT INTO daily_posts (guild_id, day, challenge_id, cycle, kind, topic,"
                " difficulty, challenge_payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    guild_id,
                    day,
                    chosen.id,
                    cycle,
                    chosen.kind.value,
                    chosen.topic,
                    chosen.difficulty.value,
                    json.dumps(chosen.to_payload(), ensure_ascii=False),
                ),
            )
        post = await self._post_by_day(guild_id, day)
        assert post is not None
        return post

    async def record_posted(
        self, post_id: int, channel_id: int, message_id: int, thread_id: int | None
    ) -> DailyPost:
        now = self.clock.now()
        closes = now + timedelta(hours=self.settings.challenge_daily_open_hours)
        await self.db.execute(
            "UPDATE daily_posts SET channel_id = ?, message_id = ?, thread_id = ?,"
            " posted_at = ?, closes_at = ? WHERE id = ?",
            (channel_id, message_id, thread_id, to_db_time(now), to_db_time(closes), post_id),
        )
        return await self._post_by_id(post_id)

    # --- Reading ------------------------------------------------------------------

    async def get(self, guild_id: int, post_id: int) -> DailyPost:
        post = await self._post_by_id(post_id)
        if post.guild_id != guild_id:
            raise NotFound("That daily challenge is not from this server.")
        return post

    async def get_any(self, post_id: int) -> DailyPost:
        """A post by id whatever its server: for the bot's own bookkeeping only."""
        return await self._post_by_id(post_id)

    async def latest(self, guild_id: int) -> DailyPost | None:
        """The newest daily challenge posted in this server, open or not."""
        row = await self.db.fetch_one(
            f"SELECT {POST_COLUMNS} FROM daily_posts WHERE guild_id = ? AND posted_at IS NOT NULL"
            " ORDER BY day DESC LIMIT 1",
            (guild_id,),
        )
        return None if row is None else await self._from_row(row)

    async def open_post(self, guild_id: int) -> DailyPost | None:
        post = await self.latest(guild_id)
        return post if post is not None and post.is_open(self.clock.now()) else None

    async def counts(self, post_id: int) -> tuple[int, int]:
        row = await self.db.fetch_one(
            "SELECT answered_count, correct_count FROM daily_posts WHERE id = ?", (post_id,)
        )
        if row is None:
            raise NotFound("That daily challenge no longer exists.")
        return row[0], row[1]

    async def _post_by_day(self, guild_id: int, day: str) -> DailyPost | None:
        row = await self.db.fetch_one(
            f"SELECT {POST_COLUMNS} FROM daily_posts WHERE guild_id = ? AND day = ?",
            (guild_id, day),
        )
        return None if row is None else await self._from_row(row)

    async def _post_by_id(self, post_id: int) -> DailyPost:
        row = await self.db.fetch_one(
            f"SELECT {POST_COLUMNS} FROM daily_posts WHERE id = ?", (post_id,)
        )
        if row is None:
            raise NotFound("That daily challenge no longer exists.")
        return await self._from_row(row)

    async def _from_row(self, row: Row) -> DailyPost:
        # A post shows, and judges answers by, the challenge as it was posted: a later
        # bank update (options reworded or reordered, the challenge dropped) can't change it.
        # Posts made before snapshots were kept, or whose snapshot a newer version no longer
        # accepts, fall back to the bank.
        challenge = self.bank.from_snapshot(row["challenge_payload"])
        if challenge is None:
            challenge = await self.bank.get(row["guild_id"], row["challenge_id"])
        return from_row(
            DailyPost,
            row,
            challenge=challenge,
            answered=row["answered_count"],
            correct=row["correct_count"],
        )

    # --- Answering ----------------------------------------------------------------

    async def answer(
        self, guild_id: int, post_id: int, user_id: int, option_index: int
    ) -> AnswerResult:
        """Record a member's one answer; a second click is refused and counts nothing."""
        post = await self._answerable(post_id)
        if post.guild_id != guild_id:
            raise NotFound("That daily challenge is not from this server.")
        challenge = post.challenge
        now = self.clock.now()
        if not challenge.is_quiz:
            raise DomainError("This challenge is a task: answer it with /challenge submit.")
        await self._ensure_open(guild_id, post, now)
        if not 0 <= option_index < len(challenge.options):
            raise DomainError("That option is not part of this quiz.")
        correct = option_index == challenge.correct_index
        written = await write_answer(
            self.db,
            PendingAnswer(post_id, guild_id, user_id, option_index, correct, challenge.topic, now),
            self.settings.challenge_daily_points,
            self.settings.challenge_hint_points,
        )
        if not written.recorded:
            picked = (
                f" (you picked '{challenge.options[written.option_index]}')"
                if 0 <= written.option_index < len(challenge.options)
                else ""
            )
            raise DomainError(f"You already answered this one{picked}. One answer each.")
        return AnswerResult(
            correct=correct,
            points=written.points,
            chosen=challenge.options[option_index],
            right_answer=challenge.correct_option or "",
            explanation=challenge.explanation,
            answered=written.answered,
            correct_count=written.correct_count,
        )

    async def _answerable(self, post_id: int) -> DailyPost:
        """The post's fixed parts (challenge, server, closing time), cached once posted."""
        post = self._posted_cache.get(post_id)
        if post is None:
            loading = self._loading.get(post_id)
            if loading is None:  # one read however many clicks arrive at once
                loading = asyncio.ensure_future(self._post_by_id(post_id))
                self._loading[post_id] = loading
                loading.add_done_callback(lambda _: self._loading.pop(post_id, None))
            post = await asyncio.shield(loading)
            if post.closes_at is not None:
                if len(self._posted_cache) >= POSTED_CACHE_SIZE:
                    self._posted_cache.clear()
                self._posted_cache[post_id] = post
        return post

    async def _ensure_open(self, guild_id: int, post: DailyPost, now: datetime) -> None:
        if post.is_open(now):
            return
        if post.closes_at is None:
            raise DomainError("This challenge is not open yet.")
        zone = (await self.guild_settings.get(guild_id)).zone
        raise DomainError(
            f"This challenge closed at {format_local(post.closes_at, zone)}; answers are no "
            "longer counted. Try /challenge today or /challenge practice."
        )

    async def hint(self, guild_id: int, post_id: int, user_id: int) -> tuple[Challenge, bool]:
        """The hint, and whether it costs points (only before answering)."""
        post = await self.get(guild_id, post_id)
        answered = await self.db.fetch_value(
            "SELECT 1 FROM daily_answers WHERE post_id = ? AND user_id = ?", (post_id, user_id)
        )
        costs = not answered and post.is_open(self.clock.now())
        if costs:
            await self.db.execute(
                "INSERT INTO daily_hints (post_id, user_id, shown_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (post_id, user_id, to_db_time(self.clock.now())),
            )
        return post.challenge, costs

    # --- Practice -----------------------------------------------------------------

    async def practice(
        self, guild_id: int, phase: str | None = None, topic: str | None = None
    ) -> Challenge:
        """A random quiz from the bank for private practice, never today's open one."""
        open_post = await self.open_post(guild_id)
        spoiler = open_post.challenge.id if open_post else None
        quizzes = [
            c
            for c in await self.bank.available(guild_id)
            if c.is_quiz and c.id != spoiler and (topic is None or c.topic == topic)
        ]
        in_phase = [c for c in quizzes if phase is None or c.phase == phase]
        pool = in_phase or quizzes
        if not pool:
            raise DomainError("There is no quiz in the bank for that choice yet.")
        return self.rng.choice(pool)

    async def check_practice(
        self, guild_id: int, challenge_id: str, option_index: int
    ) -> PracticeResult:
        challenge = await self.bank.get(guild_id, challenge_id)
        open_post = await self.open_post(guild_id)
        if open_post is not None and open_post.challenge.id == challenge.id:
            raise DomainError("That quiz is today's daily challenge: answer it on its post.")
        if not challenge.is_quiz or not 0 <= option_index < len(challenge.options):
            raise DomainError("That option is not part of this quiz.")
        return PracticeResult(
            correct=option_index == challenge.correct_index,
            chosen=challenge.options[option_index],
            right_answer=challenge.correct_option or "",
            explanation=challenge.explanation,
        )
