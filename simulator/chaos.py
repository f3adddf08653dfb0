"""The chaos day: a scripted day of a server, with the bot SIGKILLed and restarted at random.

The real bot runs in its own process (simulator/clocked_bot.py) against a simulator in
this one, on a clock this driver moves in ten-minute steps through Monday 9 March 2026. The
day has check-ins, quiz answers, a check-in form left open across a restart, a weekly
challenge submission, the weekly challenge's start and results, the weekly digest, the
review-queue nudge, the daily challenge and reminders. At random steps (from `seed`) the bot
is killed: between two ticks, or in the middle of one right after Discord did what the bot
asked and before the bot heard the answer. It is restarted after a random downtime, and
members whose command got no answer try again, as people do.

Afterwards the invariants are checked: every acknowledged write is in the database, every
scheduled post is in Discord exactly once, every form was answered, and the database's own
consistency check is clean (SQLite's integrity_check, or PostgreSQL's stand-in:
simulator/integrity.py). The day runs on SQLite, or on PostgreSQL given `database_url`.
bench/chaos.py runs many restarts; tests/test_chaos.py a short seeded day on each engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import connect, open_database
from bot.services.guild_settings import ChannelKind, RoleKind
from bot.services.portfolio.drafts import request_draft
from bot.wiring import build_services
from simulator import invocations
from simulator.clocked_bot import CLOCK_FILE, SharedClock, read_tick
from simulator.integrity import integrity
from simulator.process import BotProcess
from simulator.server import Simulator
from simulator.state import (
    APPLICATION_COMMAND,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    SimGuild,
    SimInteraction,
    SimMessage,
    SimUser,
)

SETUP = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # Saturday: the server is set up
DAY = datetime(2026, 3, 9, tzinfo=UTC)  # Monday: the day under test
STEP = timedelta(minutes=10)
DOWNTIMES = (0, 0, 0, 5, 10, 30)  # minutes the bot stays down after a kill
ANSWER_SECONDS = 10.0
READY_SECONDS = 60.0
# How the bot answers a quiz click it recorded (a first answer, or one recorded before).
QUIZ_RECORDED = ("Correct", "Not this time", "You already answered")
FORM_FORCED_RESTART = timedelta(hours=8, minutes=20)  # between opening and sending the form


@dataclass
class ChaosReport:
    seed: int
    restarts: int = 0
    kills_mid_call: int = 0
    posts_expected: int = 0
    posts_sent: int = 0
    posts_duplicated: int = 0
    missing_posts: list[str] = field(default_factory=list)
    unexpected_posts: list[str] = field(default_factory=list)
    forms_across_restart: int = 0
    forms_answered: int = 0
    writes_acknowledged: int = 0
    writes_lost: list[str] = field(default_factory=list)
    actions_not_done: list[str] = field(default_factory=list)
    integrity: str = ""

    @property
    def ok(self) -> bool:
        return (
            not self.missing_posts
            and not self.unexpected_posts
            and self.posts_duplicated == 0
            and self.forms_answered == self.forms_across_restart
            and not self.writes_lost
            and not self.actions_not_done
            and self.integrity == "ok"
        )

    def summary(self) -> str:
        return (
            f"seed {self.seed}: {self.restarts} restarts ({self.kills_mid_call} mid-call); "
            f"posts expected {self.posts_expected}, sent {self.posts_sent}, "
            f"duplicated {self.posts_duplicated}, missing {self.missing_posts}, "
            f"unexpected {self.unexpected_posts}; forms across a restart "
            f"{self.forms_across_restart}, answered {self.forms_answered}; acknowledged writes "
            f"{self.writes_acknowledged}, lost {self.writes_lost}; actions not done "
            f"{self.actions_not_done}; integrity_check {self.integrity!r}"
        )


@dataclass
class Action:
    at: timedelta  # after midnight of DAY
    name: str
    run: Callable[[], Awaitable[bool]]  # True once done; False to try again at the next step


def marker_count(messages: list[SimMessage], marker: str) -> int:
    pattern = re.compile(rf"(?<![\w#]){re.escape(marker)}(?!\w)")
    return sum(1 for m in messages if pattern.search(message_text(m)))


def message_text(message: SimMessage) -> str:
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


class ChaosDay:
    def __init__(
        self, folder: Path, seed: int, restarts: int, database_url: str | None = None
    ) -> None:
        self.folder = folder
        self.settings = Settings(
            _env_file=None, database_path=folder / "mentor.db", database_url=database_url
        )
        self.database_url = database_url
        self.rng = random.Random(seed)
        self.report = ChaosReport(seed)
        self.restarts_planned = restarts
        self.sim = Simulator()
        self.clock = SharedClock(folder / CLOCK_FILE)
        self.now = DAY
        self.bot: BotProcess | None = None
        self.armed = 0  # kill the bot on this many-th API call from now (0: not armed)
        self.starting = False
        self.acknowledged: list[tuple[str, Any]] = []  # (what, how to find it)
        self.forms: list[dict[str, Any]] = []
        self.weekly_id = 0
        self.guild: SimGuild = None  # type: ignore[assignment]
        self.people: dict[str, SimUser] = {}

    # --- the run ----------------------------------------------------------------------

    async def run(self) -> ChaosReport:
        await self.sim.start()
        try:
            self.guild = self.sim.add_community_guild()
            self.people = {
                name: self.sim.add_member(self.guild, name, moderator=name == "mo")
                for name in ("mo", "alice", "bob", "carol", "dan")
            }
            await self.set_up_the_server()
            self.sim.after_call = self.after_call
            await self.day()
        finally:
            self.sim.after_call = None
            if self.bot is not None:
                await self.bot.stop()
            await self.sim.close()
        await self.check()
        return self.report

    async def day(self) -> None:
        steps = [DAY + STEP * n for n in range(int(timedelta(days=1) / STEP))]
        kills = set(self.rng.sample(range(len(steps)), k=max(0, self.restarts_planned - 1)))
        actions = self.script()
        self.clock.set(self.now)
        await self.start_bot()
        for index, when in enumerate(steps):
            self.now = max(self.now, when)
            self.clock.set(self.now)
            await self.wait_for_tick()
            for action in [a for a in actions if DAY + a.at <= self.now]:
                if await self.attempt(action):
                    actions.remove(action)
            if when == DAY + FORM_FORCED_RESTART:
                await self.restart()  # the form stays open across this one
            elif index in kills:
                if self.armed or self.rng.random() < 0.4:
                    await self.restart()  # between two ticks
                else:
                    self.armed = self.rng.randint(1, 2)  # on one of the next calls to Discord
        self.armed = 0
        await self.ensure_running()
        self.report.actions_not_done = [a.name for a in actions]

    async def attempt(self, action: Action) -> bool:
        """Run an action; a member whose command went unanswered tries again."""
        for _ in range(5):
            await self.ensure_running()
            try:
                return await action.run()
            except NoAnswer:
                continue
        return False

    # --- the bot process -----------------------------------------------------------------

    async def start_bot(self) -> None:
        env = {
            "LOG_LEVEL": "INFO",
            "BACKUP_KEEP": "0",
            "SHUTDOWN_GRACE_SECONDS": "2",
            "AUTO_SYNC_COMMANDS": "true",
        }
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        self.starting = True  # no armed kill while it starts: it would never get going
        try:
            self.bot = await BotProcess.start(self.sim, self.folder, env, clocked=True)
            await self.bot.wait_for_log("Connected as", within=READY_SECONDS)
        finally:
            self.starting = False
        await self.wait_for_tick()

    def alive(self) -> bool:
        return self.bot is not None and self.bot.process.returncode is None

    async def ensure_running(self) -> None:
        if not self.alive():
            await self.restart()

    async def restart(self) -> None:
        """SIGKILL (if it is still alive), a downtime, and a fresh process."""
        assert self.bot is not None
        await self.bot.kill()
        self.report.restarts += 1
        down = timedelta(minutes=self.rng.choice(DOWNTIMES))
        if down:
            self.now += down
            self.clock.set(self.now)
            self.sim.state.time_offset += down.total_seconds()  # Discord's clocks move too
        await self.start_bot()

    def after_call(self, method: str, path: str, status: int) -> None:
        """Armed: kill the bot after Discord handled its call and before the answer arrives."""
        if not self.armed or self.starting or path == "/gateway" or not self.alive():
            return
        self.armed -= 1
        if self.armed == 0:
            assert self.bot is not None
            os.kill(self.bot.process.pid, signal.SIGKILL)
            self.report.kills_mid_call += 1

    async def wait_for_tick(self) -> None:
        """Until the bot finished a scheduler tick at the current instant (restarting it if it
        died meanwhile)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_SECONDS
        while read_tick(self.folder) != self.now:
            if not self.alive():
                await self.restart()
                return
            if loop.time() > deadline:
                raise TimeoutError(f"no scheduler tick at {self.now}")
            await asyncio.sleep(0.01)

    # --- members ---------------------------------------------------------------------------

    async def send(
        self, kind: int, user: SimUser, channel_id: int, data: dict, message: SimMessage | None
    ) -> SimInteraction:
        interaction = await self.sim.send_interaction(
            kind, user, self.guild, channel_id, data, message
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ANSWER_SECONDS
        while not interaction.answered.is_set():
            if not self.alive() or loop.time() > deadline:
                raise NoAnswer
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(interaction.answered.wait(), 0.05)
        return interaction

    async def slash(self, name: str, command: str, **options: Any) -> SimInteraction:
        data = invocations.command_data(
            self.sim.state, self.sim.base_url, self.guild, command, options
        )
        channel = self.guild.channel("general")
        return await self.send(APPLICATION_COMMAND, self.people[name], channel, data, None)

    def answer_of(self, interaction: SimInteraction) -> SimMessage | None:
        ids = [interaction.original_id, *interaction.followup_ids]
        found = [self.sim.state.messages[i] for i in ids if i in self.sim.state.messages]
        return found[-1] if found else None

    def checkin(self, name: str, note: str) -> Callable[[], Awaitable[bool]]:
        async def run() -> bool:
            interaction = await self.slash(name, "checkin", note=note)
            answer = self.answer_of(interaction)
            if answer is not None and answer.embeds and not answer.ephemeral:
                self.acknowledged.append(("checkin", note))
            return True

        return run

    def open_form(self, name: str, command: str, **options: Any) -> Callable[[], Awaitable[bool]]:
        async def run() -> bool:
            interaction = await self.slash(name, command, **options)
            if interaction.modal is None:
                raise RuntimeError(f"/{command} opened no form")
            self.forms.append(
                {"who": name, "modal": interaction.modal, "opened": self.report.restarts}
            )
            return True

        return run

    def send_form(self, name: str, answers: dict[str, str], write: tuple[str, Any]):
        async def run() -> bool:
            form = next(f for f in self.forms if f["who"] == name and "answered" not in f)
            data = invocations.modal_submit_data(form["modal"], answers)
            channel = self.guild.channel("general")
            interaction = await self.send(MODAL_SUBMIT, self.people[name], channel, data, None)
            answer = self.answer_of(interaction)
            form["answered"] = answer is not None
            form["sent"] = self.report.restarts
            if answer is not None and "nothing is lost" not in answer.content:
                self.acknowledged.append(write)  # stored, not quoted back
            return True

        return run

    def quiz(self, name: str) -> Callable[[], Awaitable[bool]]:
        async def run() -> bool:
            post = self.daily_post()
            if post is None:
                return False  # not posted yet: try again at the next step
            data = invocations.button_data(post, custom_id=None, label=first_option(post))
            interaction = await self.send(
                MESSAGE_COMPONENT, self.people[name], post.channel_id, data, post
            )
            answer = self.answer_of(interaction)
            said = answer.content if answer is not None else ""
            if said.startswith(QUIZ_RECORDED):
                self.acknowledged.append(("quiz", self.people[name].id))
                return True
            return False  # refused (not open yet, say): try again at the next step

        return run

    def daily_post(self) -> SimMessage | None:
        posts = self.bot_posts(self.guild.channel("challenges"))
        return next((m for m in posts if marker_count([m], self.daily_marker)), None)

    # --- the script ---------------------------------------------------------------------------

    @property
    def daily_marker(self) -> str:
        return f"Daily challenge of {DAY.date().isoformat()}"

    def script(self) -> list[Action]:
        h = lambda hours, minutes=0: timedelta(hours=hours, minutes=minutes)  # noqa: E731
        carol_note = "Finished the backprop chapter; the form stayed open during a restart."
        return [
            Action(h(7, 30), "alice checks in", self.checkin("alice", "chaos: alice at 07:30")),
            Action(h(8, 10), "carol opens the form", self.open_form("carol", "checkin")),
            Action(
                h(8, 40),
                "carol sends the form",
                self.send_form(
                    "carol", {"did": carol_note, "minutes": "40"}, ("checkin", carol_note)
                ),
            ),
            Action(h(9, 30), "alice answers the quiz", self.quiz("alice")),
            Action(h(9, 30), "bob answers the quiz", self.quiz("bob")),
            Action(h(12), "alice checks in again", self.checkin("alice", "chaos: alice at 12:00")),
            Action(
                h(14),
                "dan opens the weekly submission",
                self.open_form("dan", "challenge submit", which="weekly"),
            ),
            Action(
                h(14, 10),
                "dan submits to the weekly",
                self.send_form(
                    "dan",
                    {"link": "https://github.com/dan/tiny-rag"},
                    ("weekly submission", "https://github.com/dan/tiny-rag"),
                ),
            ),
            Action(
                h(20), "alice checks in at night", self.checkin("alice", "chaos: alice at 20:00")
            ),
        ]

    def expected_posts(self) -> list[tuple[str, int | None]]:
        """(marker, where it must appear exactly once: a channel, or a member's DMs)."""
        challenges = self.guild.channel("challenges")
        reminder = "Time for today's check-in (Monday 9 March)"
        return [
            (f"Weekly challenge #{self.weekly_id}", challenges),
            (self.daily_marker, challenges),
            (f"Results of weekly challenge #{self.weekly_id}", challenges),
            ("Weekly digest · 02 Mar - 08 Mar 2026", self.guild.channel("checkins")),
            ("Waiting for a reviewer (2026-03-09)", self.guild.channel("reviews")),
            (reminder, self.dm_channel("bob")),
            (reminder, self.dm_channel("dan")),
        ]

    def dm_channel(self, name: str) -> int | None:
        user = self.people[name]
        for channel in self.sim.state.channels.values():
            if channel.type == 1 and channel.recipient_ids == [user.id]:
                return channel.id
        return None

    async def set_up_the_server(self) -> None:
        """Saturday, before the day: channels, roles, members on the roadmap with reminders,
        a quiz-only bank, a weekly challenge due Monday 18:00, and a portfolio request."""
        settings = self.settings
        db = await open_database(settings.database_target)
        try:
            services = build_services(settings, db, FixedClock(SETUP))
            guild, gs = self.guild, services.guild_settings
            for kind, name in (
                (ChannelKind.CHECKIN, "checkins"),
                (ChannelKind.CHALLENGE, "challenges"),
                (ChannelKind.REVIEW, "reviews"),
                (ChannelKind.QA, "qa"),
            ):
                await gs.set_channel(guild.id, kind, guild.channel(name))
            await gs.set_role(guild.id, RoleKind.MODERATOR, guild.role("moderator"))
            await gs.set_role(guild.id, RoleKind.REVIEWER, guild.role("reviewer"))
            roadmap = services.roadmap
            for name in ("alice", "bob", "carol", "dan"):
                await roadmap.members.start(guild.id, self.people[name].id, "ai_engineer")
            for name in ("bob", "carol", "dan"):
                await roadmap.reminders.turn_on(guild.id, self.people[name].id, "19:00")
            bank = services.challenges.bank
            for challenge in bank.shipped:
                if not challenge.is_quiz:
                    await bank.disable(guild.id, self.people["mo"].id, challenge.id)
            weekly = await services.challenges.weekly.create(
                guild.id,
                self.people["mo"].id,
                title="A tiny RAG",
                brief="Answer questions over three PDFs, with citations.",
                rules="Any stack; link the repository.",
                deadline="2026-03-09 18:00",
            )
            self.weekly_id = weekly.id
            draft = request_draft(
                services.portfolio.rubric,
                archetype="rag_app",
                title="Handbook assistant",
                repo_url="https://github.com/alice/handbook-assistant",
                demo_url=None,
                description="Answers questions about the team handbook with cited pages.",
                feedback_wanted="Is the retrieval evaluation convincing?",
                self_check="complete",
            )
            await services.portfolio.submit(guild.id, self.people["alice"].id, draft)
        finally:
            await db.close()

    # --- the invariants -------------------------------------------------------------------------

    def bot_posts(self, channel_id: int | None) -> list[SimMessage]:
        """Messages the bot posted itself (not answers to interactions) in one channel."""
        state = self.sim.state
        return sorted(
            (
                m
                for m in state.messages.values()
                if m.author_id == state.bot_user.id
                and m.channel_id == channel_id
                and not m.deleted
                and m.interaction_id is None
                and m.webhook_id is None
            ),
            key=lambda m: m.id,
        )

    async def check(self) -> None:
        report = self.report
        expected = self.expected_posts()
        report.posts_expected = len(expected)
        counted: set[int] = set()
        for marker, channel_id in expected:
            posts = [m for m in self.bot_posts(channel_id) if marker_count([m], marker)]
            counted.update(m.id for m in posts)
            if posts:
                report.posts_sent += 1
                report.posts_duplicated += len(posts) - 1
            else:
                report.missing_posts.append(f"{marker} in {channel_id}")
        channels = {m.channel_id for m in self.sim.state.messages.values()}
        for channel_id in channels:
            for message in self.bot_posts(channel_id):
                if message.id not in counted and message.channel_id not in self.threads():
                    report.unexpected_posts.append(message_text(message)[:80])
        crossed = [f for f in self.forms if f.get("sent", f["opened"]) > f["opened"]]
        report.forms_across_restart = len(crossed)
        report.forms_answered = sum(1 for f in crossed if f.get("answered"))
        await self.check_database()

    def threads(self) -> set[int]:
        """Discussion threads the bot opens under its posts (their first messages are expected)."""
        return {c.id for c in self.sim.state.channels.values() if c.is_thread}

    async def check_database(self) -> None:
        report = self.report
        report.writes_acknowledged = len(self.acknowledged)
        db = await connect(self.settings.database_target)
        try:
            report.integrity = await integrity(db)
            for what, key in self.acknowledged:
                if what == "checkin":
                    sql = "SELECT 1 FROM roadmap_checkins WHERE did = ?"
                elif what == "quiz":
                    sql = "SELECT 1 FROM daily_answers WHERE user_id = ?"
                else:
                    sql = "SELECT 1 FROM challenge_submissions WHERE link = ?"
                if await db.fetch_value(sql, (key,)) is None:
                    report.writes_lost.append(f"{what}: {key}")
        finally:
            await db.close()


class NoAnswer(Exception):
    """The bot died (or hung) before answering a member."""


def first_option(post: SimMessage) -> str:
    for row in post.components:
        for component in row.get("components", []):
            if component.get("custom_id", "").startswith("chal:ans:"):
                return component["label"]
    raise RuntimeError("the daily post has no quiz options")


async def run_chaos_day(
    folder: Path, seed: int, restarts: int, database_url: str | None = None
) -> ChaosReport:
    """One scripted day with `restarts` restarts at random points chosen by `seed`, in
    `folder` (an empty folder that exists), on SQLite there or on the empty PostgreSQL
    database `database_url`."""
    return await ChaosDay(folder, seed, restarts, database_url).run()
