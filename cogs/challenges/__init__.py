"""/challenge: daily quizzes and tasks, weekly challenges, the bank, points and standings."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.delivery import ChannelPost, Destination, Outcome
from bot.errors import DomainError
from bot.markdown import inline
from bot.services.challenges.daily import DAILY_KIND
from bot.services.challenges.model import (
    PHASE_LABELS,
    TOPIC_LABELS,
    DailyPost,
    DueDaily,
    MonthTop,
    Phase,
    Weekly,
    WeeklyResults,
    phase_for_month,
)
from bot.services.challenges.service import MONTH_TOP_KIND
from bot.services.challenges.weekly import RESULTS_KIND, START_KIND
from bot.services.scheduled_posts import PostKey
from bot.ui.checks import ensure_moderator, moderator_only
from bot.ui.pager import Page, PageLoader, embed_page, reply_paged
from bot.ui.replies import clip, reply
from cogs.challenges._embeds import (
    bank_pages,
    daily_embed,
    daily_marker,
    leaderboard_pages,
    month_top_embed,
    practice_embed,
    results_embed,
    results_marker,
    stats_embed,
    submission_embed,
    weekly_embed,
    weekly_marker,
)
from cogs.challenges._live import LiveCounts
from cogs.challenges._modals import FORMS, AddChallengeModal, SubmitModal, WeeklyCreateModal
from cogs.challenges._review import review_buttons
from cogs.challenges._views import DYNAMIC_ITEMS, daily_view, practice_view

log = logging.getLogger(__name__)

PHASE_CHOICES = [
    app_commands.Choice(name=label, value=p.value) for p, label in PHASE_LABELS.items()
]
TOPIC_CHOICES = [app_commands.Choice(name=label, value=t) for t, label in TOPIC_LABELS.items()]
DIFFICULTY_CHOICES = [
    app_commands.Choice(name=d.title(), value=d) for d in ("easy", "medium", "hard")
]
KIND_CHOICES = [
    app_commands.Choice(name="Quiz (options, one correct)", value="quiz"),
    app_commands.Choice(name="Task (answered with a link)", value="task"),
]
PERIOD_CHOICES = [
    app_commands.Choice(name="This week", value="week"),
    app_commands.Choice(name="This month", value="month"),
    app_commands.Choice(name="All time", value="all"),
]
WHICH_CHOICES = [
    app_commands.Choice(name="Weekly challenge", value="weekly"),
    app_commands.Choice(name="Today's daily task", value="daily"),
]
THREAD_ARCHIVE_MINUTES = 1440
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
JOBS = ("daily", "weekly-start", "weekly-results", "month-top")
BOARD, BANK, REVIEW_QUEUE = "chal-board", "chal-bank", "chal-review"


PHASES, TOPICS, DIFFICULTIES = (
    [p.value for p in Phase],
    list(TOPIC_LABELS),
    ["easy", "medium", "hard"],
)


def bank_filters(phase: str | None, topic: str | None, difficulty: str | None) -> str:
    """The bank list's filters, short enough for a custom_id: indexes, or '' for none."""
    chosen = zip((phase, topic, difficulty), (PHASES, TOPICS, DIFFICULTIES), strict=True)
    return ",".join("" if value is None else str(names.index(value)) for value, names in chosen)


def parse_bank_filters(text: str) -> tuple[str | None, str | None, str | None]:
    parts = [*text.split(","), "", "", ""][:3]
    phase, topic, difficulty = (
        names[int(part)] if part.isdigit() and int(part) < len(names) else None
        for part, names in zip(parts, (PHASES, TOPICS, DIFFICULTIES), strict=True)
    )
    return phase, topic, difficulty


def where(channel_id: int, post: DueDaily | Weekly | MonthTop) -> dict[str, int]:
    return {"guild_id": post.guild_id, "channel": channel_id}


@app_commands.guild_only()
class ChallengesCog(
    commands.GroupCog, group_name="challenge", description="Daily and weekly challenges"
):
    bank = app_commands.Group(name="bank", description="Moderators: the challenge bank")
    weekly = app_commands.Group(name="weekly", description="Weekly challenges")

    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.challenges = bot.services.challenges
        self.live_counts = LiveCounts(
            bot.services.settings.challenge_count_edit_seconds, self._edit_counts
        )
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.forms.add(*FORMS)
        for name, loader in self._pagers().items():
            self.bot.pagers.add(name, loader)
        scheduler = self.services.scheduler
        scheduler.add_job("challenges:daily", self.post_due_dailies)
        scheduler.add_job("challenges:weekly-start", self.start_due_weeklies)
        scheduler.add_job("challenges:weekly-results", self.post_due_results)
        scheduler.add_job("challenges:month-top", self.post_due_month_tops)

    async def cog_unload(self) -> None:
        for name in JOBS:
            self.services.scheduler.remove_job(f"challenges:{name}")
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.forms.remove(*FORMS)
        for name in self._pagers():
            self.bot.pagers.remove(name)
        await self.live_counts.close()

    def _pagers(self) -> dict[str, PageLoader]:
        return {BOARD: self._board_page, BANK: self._bank_page, REVIEW_QUEUE: self._review_page}

    # --- Scheduled posts ------------------------------------------------------------

    def _channel(self, channel_id: int, guild_id: int) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(channel_id, guild_id=guild_id)

    async def _thread(self, message: discord.Message, name: str) -> int | None:
        """The post's discussion thread: opened now, or the one an earlier try opened."""
        if message.thread is not None:
            return message.thread.id
        try:
            thread = await message.create_thread(
                name=clip(name, 100), auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.HTTPException as error:
            if error.code == THREAD_EXISTS:
                return message.id  # Discord gives a message's thread the message's id
            log.warning("Could not open a thread under message %s", message.id, exc_info=True)
            return None
        return thread.id

    async def post_due_dailies(self, now: datetime) -> None:
        for due in await self.challenges.daily.due(now):
            await self.post_daily(due)

    async def post_daily(self, due: DueDaily) -> bool:
        """Post and record one server's daily challenge; False if not posted."""
        prepared: list[DailyPost] = []

        async def build() -> list[Destination]:
            post = await self.challenges.daily.prepare(due.guild_id, due.day)
            prepared.append(post)
            closes = self.services.clock.now() + timedelta(
                hours=self.services.settings.challenge_daily_open_hours
            )
            message = {"embed": daily_embed(post, closes), "view": daily_view(post)}
            return [ChannelPost(daily_marker(due.day), message, **where(due.channel_id, due))]

        async def after(message: discord.Message, _: int) -> None:
            post = prepared[0]
            thread_id = await self._thread(message, f"Daily {due.day}: {post.challenge.title}")
            await self.challenges.daily.record_posted(
                post.id, due.channel_id, message.id, thread_id
            )

        key = PostKey(due.guild_id, DAILY_KIND, due.day)
        sent = await self.bot.delivery.deliver(key, build, after, what="the daily challenge")
        return sent.outcome is Outcome.SENT

    async def _edit_counts(self, post_id: int) -> None:
        post = await self.challenges.daily.get_any(post_id)
        if post.channel_id is None or post.message_id is None:
            return
        message = self._channel(post.channel_id, post.guild_id).get_partial_message(post.message_id)
        await message.edit(embed=daily_embed(post))

    async def start_due_weeklies(self, now: datetime) -> None:
        for weekly in await self.challenges.weekly.due_starts(now):
            await self.start_weekly_if_due(weekly)

    async def start_weekly_if_due(self, weekly: Weekly) -> bool:
        """Post a weekly challenge whose start has come, exactly once."""
        now = self.services.clock.now()
        if weekly.status != "scheduled" or weekly.starts_at > now:
            return False
        gs = await self.services.guild_settings.get(weekly.guild_id)
        if gs.challenge_channel_id is None:
            log.warning("Weekly %s: guild %s has no challenge channel", weekly.id, weekly.guild_id)
            return False
        channel_id = gs.challenge_channel_id
        opened = Weekly(**{**weekly.__dict__, "status": "open"})

        async def build() -> list[Destination]:
            message = {"embed": weekly_embed(opened)}
            return [ChannelPost(weekly_marker(weekly.id), message, **where(channel_id, weekly))]

        async def after(message: discord.Message, _: int) -> None:
            thread_id = await self._thread(message, f"Weekly: {weekly.title}")
            await self.challenges.weekly.mark_started(weekly.id, channel_id, message.id, thread_id)

        key = PostKey(weekly.guild_id, START_KIND, str(weekly.id))
        sent = await self.bot.delivery.deliver(key, build, after, what="a weekly challenge")
        return sent.outcome is Outcome.SENT

    async def post_due_results(self, now: datetime) -> None:
        for weekly in await self.challenges.weekly.due_results(now):
            await self.post_results(weekly)

    async def post_results(self, weekly: Weekly) -> bool:
        """Close a weekly challenge and post its results, exactly once."""
        closed: list[WeeklyResults] = []

        async def build() -> list[Destination]:
            results = await self.challenges.weekly.close(weekly.guild_id, weekly.id)
            closed.append(results)
            channel_id = weekly.channel_id or (
                (await self.services.guild_settings.get(weekly.guild_id)).challenge_channel_id
            )
            if channel_id is None:
                return []
            message = {"embed": results_embed(results)}
            return [ChannelPost(results_marker(weekly.id), message, **where(channel_id, weekly))]

        async def after(message: discord.Message, _: int) -> None:
            await self.challenges.weekly.mark_results_posted(weekly.id)

        key = PostKey(weekly.guild_id, RESULTS_KIND, str(weekly.id))
        sent = await self.bot.delivery.deliver(
            key, build, after, what="a weekly challenge's results"
        )
        if sent.outcome is Outcome.SKIPPED:
            await self.challenges.weekly.mark_results_posted(weekly.id)  # nothing more to do
        if sent.done and closed:
            await self._edit_weekly_post(closed[0].weekly)
        return sent.outcome is Outcome.SENT

    async def _edit_weekly_post(self, weekly: Weekly) -> None:
        if weekly.channel_id is None or weekly.message_id is None:
            return
        try:
            await (
                self._channel(weekly.channel_id, weekly.guild_id)
                .get_partial_message(weekly.message_id)
                .edit(embed=weekly_embed(weekly))
            )
        except discord.HTTPException:
            log.info("Could not update weekly post %s", weekly.message_id, exc_info=True)

    async def post_due_month_tops(self, now: datetime) -> None:
        for top in await self.challenges.due_month_tops(now):
            await self.post_month_top(top)

    async def post_month_top(self, top: MonthTop) -> bool:
        async def build() -> list[Destination]:
            if not top.standings:
                return []
            embed = month_top_embed(top.month, top.standings)
            return [ChannelPost(embed.title or "", {"embed": embed}, **where(top.channel_id, top))]

        key = PostKey(top.guild_id, MONTH_TOP_KIND, top.month)
        sent = await self.bot.delivery.deliver(key, build, what="the month's top members")
        return sent.outcome is Outcome.SENT

    # --- Member commands -------------------------------------------------------------

    @app_commands.command(name="today", description="Show today's challenge and the weekly one")
    async def today(self, interaction: discord.Interaction) -> None:
        post = await self.challenges.daily.open_post(interaction.guild_id)
        weekly = await self.challenges.weekly.open_weekly(interaction.guild_id)
        embeds = []
        view = discord.utils.MISSING
        if post is not None:
            embeds.append(daily_embed(post))
            view = daily_view(post)
        if weekly is not None:
            embeds.append(weekly_embed(weekly))
        if not embeds:
            gs = await self.services.guild_settings.get(interaction.guild_id)
            await reply(
                interaction,
                "No challenge is open right now. The next daily challenge comes at "
                f"{gs.daily_challenge_time} ({gs.timezone}); meanwhile try /challenge practice.",
            )
            return
        await reply(interaction, embeds=embeds, view=view)

    @app_commands.command(name="practice", description="A private practice quiz, no points")
    @app_commands.describe(phase="Roadmap phase (default: yours)", topic="Only this topic")
    @app_commands.choices(phase=PHASE_CHOICES, topic=TOPIC_CHOICES)
    async def practice(
        self,
        interaction: discord.Interaction,
        phase: str | None = None,
        topic: str | None = None,
    ) -> None:
        phase = phase or await self._member_phase(interaction)
        challenge = await self.challenges.daily.practice(interaction.guild_id, phase, topic)
        await reply(interaction, embed=practice_embed(challenge), view=practice_view(challenge))

    async def _member_phase(self, interaction: discord.Interaction) -> str:
        """The member's roadmap phase when a roadmap service offers it; else foundations."""
        source = getattr(self.services, "roadmap", None)
        if source is not None and hasattr(source, "member_context"):
            try:
                context = await source.member_context(interaction.guild_id, interaction.user.id)
            except DomainError:
                context = None
            if context is not None:
                return phase_for_month(context.month).value
        return Phase.FOUNDATIONS.value

    @app_commands.command(name="submit", description="Answer a task or the weekly challenge")
    @app_commands.describe(which="Which challenge (default: whichever is open)")
    @app_commands.choices(which=WHICH_CHOICES)
    async def submit(self, interaction: discord.Interaction, which: str | None = None) -> None:
        kind, ref, title, existing = await self.challenges.submissions.target(
            interaction.guild_id, interaction.user.id, which
        )
        if existing is not None and existing.status != "pending":
            await reply(
                interaction,
                f"Your submission to '{inline(title)}' was already {existing.status}.",
            )
            return
        await SubmitModal(kind, ref, title, existing).send_to(interaction)

    @app_commands.command(name="leaderboard", description="Challenge points: week, month, all")
    @app_commands.choices(period=PERIOD_CHOICES)
    async def leaderboard(self, interaction: discord.Interaction, period: str = "week") -> None:
        await reply_paged(interaction, BOARD, period)

    async def _board_page(self, interaction: discord.Interaction, period: str, page: int) -> Page:
        standings = await self.challenges.points.leaderboard(interaction.guild_id, period)
        size = self.services.settings.challenge_page_size
        return embed_page(leaderboard_pages(standings, period, size), page)

    @app_commands.command(name="stats", description="Points, streak and topics of a member")
    @app_commands.describe(member="Whose stats (default: yours)")
    async def stats(
        self, interaction: discord.Interaction, member: discord.Member | None = None
    ) -> None:
        target = member or interaction.user
        result = await self.challenges.points.stats(interaction.guild_id, target.id)
        await reply(interaction, embed=stats_embed(result, target.display_name))

    @app_commands.command(name="review", description="Moderators: review daily task answers")
    @moderator_only()
    async def review(self, interaction: discord.Interaction) -> None:
        await self._review_queue(interaction, "daily", None)

    async def _review_queue(
        self, interaction: discord.Interaction, kind: str, ref: str | None
    ) -> None:
        await reply_paged(interaction, REVIEW_QUEUE, f"{kind},{ref or ''}")

    async def _review_page(self, interaction: discord.Interaction, args: str, key: int) -> Page:
        """One submission at a time (`key`: its id; 1 opens the first), with Accept / Reject
        while it waits. The queue changes as submissions are reviewed, so Previous and
        Next name the submissions around this one."""
        await ensure_moderator(interaction)  # still a moderator when paging later
        kind, _, ref = args.partition(",")
        submissions = await self.challenges.submissions.queue(
            interaction.guild_id, kind, ref or None, include_reviewed=kind == "weekly"
        )
        if not submissions:
            raise DomainError("Nothing to review right now.")
        ids = [s.id for s in submissions]
        index = ids.index(key) if key in ids else 0
        submission = submissions[index]
        title = (await self.challenges.submissions.title_of(submission))[0]
        embed = submission_embed(submission, title, index, len(submissions))
        around = (
            ids[index - 1] if index > 0 else None,
            ids[index + 1] if index + 1 < len(ids) else None,
        )
        return Page(embed, index + 1, len(ids), review_buttons(submission), around)

    # --- The bank (moderators) ---------------------------------------------------------

    @bank.command(name="add", description="Add a challenge to this server's bank")
    @app_commands.describe(id="Short id: lower-case letters, digits, dashes (3-40)")
    @app_commands.choices(
        kind=KIND_CHOICES, phase=PHASE_CHOICES, topic=TOPIC_CHOICES, difficulty=DIFFICULTY_CHOICES
    )
    @moderator_only()
    async def bank_add(
        self,
        interaction: discord.Interaction,
        id: app_commands.Range[str, 3, 40],
        kind: str,
        phase: str,
        topic: str,
        difficulty: str,
    ) -> None:
        fields = {"id": id.strip(), "kind": kind, "phase": phase, "topic": topic}
        fields["difficulty"] = difficulty
        await AddChallengeModal(fields).send_to(interaction)

    @bank.command(name="import", description="Import challenges from a .json or .toml file")
    @moderator_only()
    async def bank_import(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        limit = self.services.settings.challenge_import_max_bytes
        if file.size > limit:
            await reply(interaction, f"That file is {file.size:,} bytes; the limit is {limit:,}.")
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        added = await self.challenges.bank.import_file(
            interaction.guild_id, interaction.user.id, file.filename, data
        )
        await reply(
            interaction,
            clip(f"Imported {len(added)} challenges: " + ", ".join(c.id for c in added), 2000),
        )

    @bank.command(name="disable", description="Stop a challenge from being posted here")
    @app_commands.describe(id="The challenge id (autocompletes)")
    @moderator_only()
    async def bank_disable(self, interaction: discord.Interaction, id: str) -> None:
        challenge = await self.challenges.bank.disable(
            interaction.guild_id, interaction.user.id, id
        )
        await reply(interaction, f"Disabled `{challenge.id}` ({inline(challenge.title)}).")

    @bank_disable.autocomplete("id")
    async def bank_id_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        ids = await self.challenges.bank.ids_matching(interaction.guild_id, current)
        return [app_commands.Choice(name=i, value=i) for i in ids]

    @bank.command(name="list", description="Browse the challenge bank")
    @app_commands.choices(phase=PHASE_CHOICES, topic=TOPIC_CHOICES, difficulty=DIFFICULTY_CHOICES)
    @moderator_only()
    async def bank_list(
        self,
        interaction: discord.Interaction,
        phase: str | None = None,
        topic: str | None = None,
        difficulty: str | None = None,
    ) -> None:
        await reply_paged(interaction, BANK, bank_filters(phase, topic, difficulty))

    async def _bank_page(self, interaction: discord.Interaction, args: str, page: int) -> Page:
        await ensure_moderator(interaction)
        phase, topic, difficulty = parse_bank_filters(args)
        entries = await self.challenges.bank.search(
            interaction.guild_id, phase=phase, topic=topic, difficulty=difficulty
        )
        filters = " · ".join(f for f in (phase, topic, difficulty) if f)
        size = self.services.settings.challenge_page_size
        return embed_page(bank_pages(entries, size, filters), page)

    # --- Weekly challenges (moderators) ---------------------------------------------------

    @weekly.command(name="create", description="Moderators: post a weekly challenge")
    @moderator_only()
    async def weekly_create(self, interaction: discord.Interaction) -> None:
        gs = await self.services.guild_settings.get(interaction.guild_id)
        if gs.challenge_channel_id is None:
            await reply(
                interaction,
                "No challenge channel is set: set one with /config channel kind:Challenges first.",
            )
            return
        await WeeklyCreateModal(gs.timezone).send_to(interaction)

    @weekly.command(name="review", description="Moderators: review weekly submissions")
    @moderator_only()
    async def weekly_review(self, interaction: discord.Interaction) -> None:
        weekly = await self.challenges.weekly.latest(interaction.guild_id)
        await self._review_queue(interaction, "weekly", str(weekly.id))

    @weekly.command(name="extend", description="Moderators: move the deadline later")
    @app_commands.describe(deadline="New deadline, YYYY-MM-DD HH:MM in the server's time zone")
    @moderator_only()
    async def weekly_extend(self, interaction: discord.Interaction, deadline: str) -> None:
        weekly = await self.challenges.weekly.extend(interaction.guild_id, deadline)
        await self._edit_weekly_post(weekly)
        await reply(
            interaction,
            f"'{inline(weekly.title)}' now closes <t:{int(weekly.deadline.timestamp())}:F>.",
        )

    @weekly.command(name="cancel", description="Moderators: cancel the running weekly challenge")
    @moderator_only()
    async def weekly_cancel(self, interaction: discord.Interaction) -> None:
        weekly, withdrawn = await self.challenges.weekly.cancel(interaction.guild_id)
        await self._edit_weekly_post(weekly)
        note = f" Points withdrawn from {withdrawn} members." if withdrawn else ""
        await reply(interaction, f"Cancelled '{inline(weekly.title)}'.{note}")

    @weekly.command(name="override", description="Moderators: change an accepted score")
    @app_commands.describe(
        submission="Submission number (#)", points="New points, 1-100", reason="Why (logged)"
    )
    @moderator_only()
    async def weekly_override(
        self,
        interaction: discord.Interaction,
        submission: app_commands.Range[int, 1],
        points: app_commands.Range[int, 1, 100],
        reason: app_commands.Range[str, 1, 300],
    ) -> None:
        override = await self.challenges.weekly.override(
            interaction.guild_id, submission, interaction.user.id, points, reason
        )
        await reply(
            interaction,
            f"Submission #{override.submission_id} of <@{override.user_id}>: "
            f"{override.old_points} -> {override.new_points} points (logged).",
        )

    @weekly.command(name="overrides", description="Moderators: the log of score overrides")
    @moderator_only()
    async def weekly_overrides(self, interaction: discord.Interaction) -> None:
        overrides = await self.challenges.weekly.overrides(interaction.guild_id)
        if not overrides:
            await reply(interaction, "No score has been overridden.")
            return
        lines = [
            f"<t:{int(o.created_at.timestamp())}:d> #{o.submission_id} <@{o.user_id}> "
            f"{o.old_points} -> {o.new_points} by <@{o.moderator_id}>: {clip(o.reason, 80)}"
            for o in overrides
        ]
        await reply(interaction, clip("\n".join(lines), 2000))


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(ChallengesCog(bot))
