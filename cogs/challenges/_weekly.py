"""/challenge weekly: moderators create, review, extend, cancel and re-score weekly
challenges (their posts and results are the jobs', cogs/challenges/_jobs.py)."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.app import MentorBot
from bot.discord_limits import MESSAGE
from bot.markdown import inline
from bot.ui.checks import moderator_only
from bot.ui.replies import clip, reply
from cogs.challenges._forms import WeeklyCreateModal
from cogs.challenges._jobs import ChallengeJobs
from cogs.challenges._review import reply_review_queue


class WeeklyCommands(app_commands.Group, name="weekly", description="Weekly challenges"):
    def __init__(self, bot: MentorBot, jobs: ChallengeJobs) -> None:
        super().__init__()
        self.services = bot.services
        self.weekly_service = bot.services.challenges.weekly
        self.jobs = jobs

    @app_commands.command(name="create", description="Moderators: post a weekly challenge")
    @moderator_only()
    async def create(self, interaction: discord.Interaction) -> None:
        gs = await self.services.guild_settings.get(interaction.guild_id)
        if gs.challenge_channel_id is None:
            await reply(
                interaction,
                "No challenge channel is set: set one with /config channel kind:Challenges first.",
            )
            return
        await WeeklyCreateModal(gs.timezone).send_to(interaction)

    @app_commands.command(name="review", description="Moderators: review weekly submissions")
    @moderator_only()
    async def review(self, interaction: discord.Interaction) -> None:
        weekly = await self.weekly_service.latest(interaction.guild_id)
        await reply_review_queue(interaction, "weekly", str(weekly.id))

    @app_commands.command(name="extend", description="Moderators: move the deadline later")
    @app_commands.describe(deadline="New deadline, YYYY-MM-DD HH:MM in the server's time zone")
    @moderator_only()
    async def extend(self, interaction: discord.Interaction, deadline: str) -> None:
        weekly = await self.weekly_service.extend(interaction.guild_id, deadline)
        await self.jobs.edit_weekly_post(weekly)
        await reply(
            interaction,
            f"'{inline(weekly.title)}' now closes <t:{int(weekly.deadline.timestamp())}:F>.",
        )

    @app_commands.command(
        name="cancel", description="Moderators: cancel the running weekly challenge"
    )
    @moderator_only()
    async def cancel(self, interaction: discord.Interaction) -> None:
        weekly, withdrawn = await self.weekly_service.cancel(interaction.guild_id)
        await self.jobs.edit_weekly_post(weekly)
        note = f" Points withdrawn from {withdrawn} members." if withdrawn else ""
        await reply(interaction, f"Cancelled '{inline(weekly.title)}'.{note}")

    @app_commands.command(name="override", description="Moderators: change an accepted score")
    @app_commands.describe(
        submission="Submission number (#)", points="New points, 1-100", reason="Why (logged)"
    )
    @moderator_only()
    async def override(
        self,
        interaction: discord.Interaction,
        submission: app_commands.Range[int, 1],
        points: app_commands.Range[int, 1, 100],
        reason: app_commands.Range[str, 1, 300],
    ) -> None:
        override = await self.weekly_service.override(
            interaction.guild_id, submission, interaction.user.id, points, reason
        )
        await reply(
            interaction,
            f"Submission #{override.submission_id} of <@{override.user_id}>: "
            f"{override.old_points} -> {override.new_points} points (logged).",
        )

    @app_commands.command(name="overrides", description="Moderators: the log of score overrides")
    @moderator_only()
    async def overrides(self, interaction: discord.Interaction) -> None:
        overrides = await self.weekly_service.overrides(interaction.guild_id)
        if not overrides:
            await reply(interaction, "No score has been overridden.")
            return
        lines = [
            f"<t:{int(o.created_at.timestamp())}:d> #{o.submission_id} <@{o.user_id}> "
            f"{o.old_points} -> {o.new_points} by <@{o.moderator_id}>: {clip(o.reason, 80)}"
            for o in overrides
        ]
        await reply(interaction, clip("\n".join(lines), MESSAGE))
