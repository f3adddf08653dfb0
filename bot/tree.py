"""The command tree: owns the error handler for every app command."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.ui.errors import report_error


class MentorTree(app_commands.CommandTree):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)
