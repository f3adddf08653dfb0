"""/ping and /help: the bot's own health and a map of its commands, read from the live tree."""

from __future__ import annotations

import math

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.discord_limits import EMBED_FIELDS, EMBEDS_TOTAL, FIELD_VALUE
from bot.ui.replies import clip, reply

MIN_FIELD_ROOM = 40


def command_lines(command: app_commands.Command | app_commands.Group) -> list[str]:
    """One line per runnable command under `command` (sub-command groups flattened)."""
    if isinstance(command, app_commands.Group):
        lines: list[str] = []
        for child in command.commands:
            lines.extend(command_lines(child))
        return lines
    return [f"`/{command.qualified_name}`: {command.description}"]


def help_embed(tree: app_commands.CommandTree) -> discord.Embed:
    embed = discord.Embed(
        title="Mentor commands",
        description="Everything Mentor can do here. Some commands are for moderators only.",
        colour=discord.Colour.blurple(),
    )
    top = sorted(tree.get_commands(type=discord.AppCommandType.chat_input), key=lambda c: c.name)
    for command in top[:EMBED_FIELDS]:
        name = f"/{command.name}"
        room = min(FIELD_VALUE, EMBEDS_TOTAL - len(embed) - len(name))
        if room < MIN_FIELD_ROOM:
            break  # Discord refuses a whole embed over 6,000 characters
        value = "\n".join(command_lines(command)) or command.description
        embed.add_field(name=name, value=clip(value, room), inline=False)
    return embed


class MetaCog(commands.Cog):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot

    @app_commands.command(name="ping", description="Check that Mentor is awake")
    async def ping(self, interaction: discord.Interaction) -> None:
        latency = self.bot.latency
        shown = "unknown" if not math.isfinite(latency) else f"{latency * 1000:.0f} ms"
        await reply(interaction, f"Pong. Gateway latency: {shown}.")

    @app_commands.command(name="help", description="What Mentor can do")
    async def help(self, interaction: discord.Interaction) -> None:
        await reply(interaction, embed=help_embed(self.bot.tree))


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(MetaCog(bot))
