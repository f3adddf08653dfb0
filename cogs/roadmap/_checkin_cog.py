"""/checkin, /streak and /leaderboard."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.services.roadmap.leaderboard import BOARD_LABELS, PERIOD_LABELS, Board, Period
from bot.ui.replies import reply
from cogs.roadmap._charts import heatmap_png
from cogs.roadmap._embeds import leaderboard_embed, streak_embed, why_embed
from cogs.roadmap._views import CheckinForm, EditForm, leaderboard_view, send_checkin


class CheckinCog(commands.Cog):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.roadmap = bot.services.roadmap
        self.text_max = bot.services.settings.roadmap_checkin_text_max

    @app_commands.command(name="checkin", description="Check in on your progress")
    @app_commands.describe(
        note="Quick check-in: what you did (skips the form)",
        minutes="With a note: minutes spent, like 45 or 1h30",
        edit="True: change today's check-in instead of adding one",
    )
    @app_commands.guild_only()
    async def checkin(
        self,
        interaction: discord.Interaction,
        note: app_commands.Range[str, 1, 4000] | None = None,
        minutes: app_commands.Range[str, 1, 10] | None = None,
        edit: bool = False,
    ) -> None:
        guild_id, user_id = interaction.guild_id or 0, interaction.user.id
        if edit:
            record = await self.roadmap.checkins.todays(guild_id, user_id)
            await EditForm(self.text_max, record).send_to(interaction)
        elif note is not None:
            await send_checkin(interaction, did=note, minutes=minutes)
        else:
            milestones = await self.roadmap.checkins.open_milestones(guild_id, user_id)
            await CheckinForm(self.text_max, milestones).send_to(interaction)

    @app_commands.command(name="streak", description="Your streak, freezes and a 26-week heatmap")
    @app_commands.describe(
        member="Someone else's streak (default: yours)",
        why="True: explain which days counted and why the streak held or broke",
    )
    @app_commands.guild_only()
    async def streak(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        why: bool = False,
    ) -> None:
        target = member or interaction.user
        own = target.id == interaction.user.id
        if why:
            if not own:
                await reply(interaction, "/streak why explains your own streak only.")
                return
            explanation = await self.roadmap.checkins.why(interaction.guild_id or 0, target.id)
            await reply(interaction, embed=why_embed(explanation))
            return
        view = await self.roadmap.checkins.streak(interaction.guild_id or 0, target.id, own=own)
        png = heatmap_png(
            view.heatmap, view.today, self.bot.services.settings.roadmap_heatmap_weeks
        )
        await reply(
            interaction,
            embed=streak_embed(view, with_image=True),
            file=discord.File(io.BytesIO(png), filename="heatmap.png"),
        )

    @app_commands.command(name="leaderboard", description="This server's roadmap leaderboards")
    @app_commands.describe(board="What to rank", period="Which period", page="Page number")
    @app_commands.choices(
        board=[app_commands.Choice(name=label, value=b.value) for b, label in BOARD_LABELS.items()],
        period=[
            app_commands.Choice(name=label.capitalize(), value=p.value)
            for p, label in PERIOD_LABELS.items()
        ],
    )
    @app_commands.guild_only()
    async def leaderboard(
        self,
        interaction: discord.Interaction,
        board: str = Board.STREAKS.value,
        period: str = Period.WEEK.value,
        page: app_commands.Range[int, 1, 100_000] = 1,
    ) -> None:
        result = await self.roadmap.leaderboard.page(interaction.guild_id or 0, board, period, page)
        view = leaderboard_view(board, period, result.page, result.has_next)
        kwargs = {"view": view} if view is not None else {}
        await reply(interaction, embed=leaderboard_embed(result), **kwargs)
