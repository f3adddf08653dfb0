"""/challenge: the members' commands, the bank and weekly sub-commands, and what the
capability registers when it loads."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.markdown import inline
from bot.parts import Parts
from bot.services.challenges.model import TOPIC_LABELS
from bot.ui.checks import moderator_only
from bot.ui.pager import Page, embed_page, reply_paged
from bot.ui.replies import reply
from cogs.challenges._bank import BANK, PHASE_CHOICES, BankCommands
from cogs.challenges._daily import (
    AnswerButton,
    HintButton,
    PracticeButton,
    daily_view,
    practice_view,
)
from cogs.challenges._embeds import (
    daily_embed,
    leaderboard_pages,
    practice_embed,
    stats_embed,
    weekly_embed,
)
from cogs.challenges._forms import FORMS, SubmitModal
from cogs.challenges._jobs import ChallengeJobs
from cogs.challenges._live import LiveCounts
from cogs.challenges._review import (
    REVIEW_QUEUE,
    ReviewButton,
    ReviewModal,
    reply_review_queue,
    review_page,
)
from cogs.challenges._weekly import WeeklyCommands

TOPIC_CHOICES = [app_commands.Choice(name=label, value=t) for t, label in TOPIC_LABELS.items()]
PERIOD_CHOICES = [
    app_commands.Choice(name="This week", value="week"),
    app_commands.Choice(name="This month", value="month"),
    app_commands.Choice(name="All time", value="all"),
]
WHICH_CHOICES = [
    app_commands.Choice(name="Weekly challenge", value="weekly"),
    app_commands.Choice(name="Today's daily task", value="daily"),
]
BOARD = "chal-board"


@app_commands.guild_only()
class ChallengesCog(
    commands.GroupCog, group_name="challenge", description="Daily and weekly challenges"
):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.challenges = bot.services.challenges
        jobs = ChallengeJobs(bot)
        self.live_counts = LiveCounts(
            bot.services.settings.challenge_count_edit_seconds, jobs.edit_counts
        )
        bank = BankCommands(bot)
        self.parts = Parts(
            components=(AnswerButton, HintButton, PracticeButton, ReviewButton),
            forms=(*FORMS, ReviewModal),
            pagers={BOARD: self._board_page, BANK: bank.page, REVIEW_QUEUE: review_page},
            jobs=jobs.jobs(),
            shared={ChallengeJobs: jobs, LiveCounts: self.live_counts},
        )
        super().__init__()
        self.app_command.add_command(bank)
        self.app_command.add_command(WeeklyCommands(bot, jobs))

    async def cog_load(self) -> None:
        self.bot.add_parts(self.parts)

    async def cog_unload(self) -> None:
        self.bot.remove_parts(self.parts)
        await self.live_counts.close()

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
        challenge = await self.challenges.practice(
            interaction.guild_id, interaction.user.id, phase, topic
        )
        await reply(interaction, embed=practice_embed(challenge), view=practice_view(challenge))

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
        await reply_review_queue(interaction, "daily", None)
