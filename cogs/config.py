"""/config: moderators set this server's channels, roles, time zone and posting times."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.services.guild_settings import (
    CHANNEL_LABELS,
    ROLE_LABELS,
    TIME_LABELS,
    ChannelKind,
    GuildSettings,
    RoleKind,
    TimeKind,
)
from bot.timezones import format_time_of_day, search_timezones
from bot.ui.checks import moderator_only
from bot.ui.replies import reply

CHANNEL_TYPES = [discord.ChannelType.text, discord.ChannelType.news, discord.ChannelType.forum]


def settings_embed(settings: GuildSettings) -> discord.Embed:
    embed = discord.Embed(title="Mentor settings for this server", colour=discord.Colour.blurple())
    channels = "\n".join(
        f"**{label}**: {_channel(settings.channel_id(kind))}"
        for kind, label in CHANNEL_LABELS.items()
    )
    roles = "\n".join(
        f"**{label}**: {_role(settings.role_id(kind))}" for kind, label in ROLE_LABELS.items()
    )
    times = "\n".join(
        f"**{label}**: {format_time_of_day(settings.time_of(kind))}"
        for kind, label in TIME_LABELS.items()
    )
    embed.add_field(name="Channels", value=channels, inline=False)
    embed.add_field(name="Roles", value=roles, inline=False)
    embed.add_field(name="Time", value=f"**Time zone**: {settings.timezone}\n{times}", inline=False)
    embed.set_footer(text="Change these with /config channel, role, timezone and time.")
    return embed


def _channel(channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else "not set"


def _role(role_id: int | None) -> str:
    return f"<@&{role_id}>" if role_id else "not set"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class ConfigCog(
    commands.GroupCog, group_name="config", description="Configure Mentor for this server"
):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.settings = bot.services.guild_settings
        super().__init__()

    @app_commands.command(name="view", description="Show this server's Mentor settings")
    @moderator_only()
    async def view(self, interaction: discord.Interaction) -> None:
        settings = await self.settings.get(interaction.guild_id)
        await reply(interaction, embed=settings_embed(settings))

    @app_commands.command(name="channel", description="Choose the channel for one kind of post")
    @app_commands.describe(kind="What the channel is for", channel="Leave empty to unset it")
    @app_commands.choices(
        kind=[app_commands.Choice(name=label, value=k.value) for k, label in CHANNEL_LABELS.items()]
    )
    @moderator_only()
    async def channel(
        self,
        interaction: discord.Interaction,
        kind: str,
        channel: app_commands.AppCommandChannel | None = None,
    ) -> None:
        if channel is not None and channel.type not in CHANNEL_TYPES:
            await reply(interaction, "Pick a text, announcement or forum channel.")
            return
        if channel is not None and channel.type is discord.ChannelType.forum and kind != "review":
            await reply(interaction, "Only portfolio reviews can go to a forum channel.")
            return
        settings = await self.settings.set_channel(
            interaction.guild_id, ChannelKind(kind), channel.id if channel else None
        )
        label = CHANNEL_LABELS[ChannelKind(kind)]
        await reply(
            interaction,
            f"{label}: {_channel(settings.channel_id(ChannelKind(kind)))}.",
        )

    @app_commands.command(name="role", description="Choose the moderator or reviewer role")
    @app_commands.describe(kind="Which role", role="Leave empty to unset it")
    @app_commands.choices(
        kind=[app_commands.Choice(name=label, value=k.value) for k, label in ROLE_LABELS.items()]
    )
    @moderator_only()
    async def role(
        self, interaction: discord.Interaction, kind: str, role: discord.Role | None = None
    ) -> None:
        if role is not None and not isinstance(role, discord.Role):
            # discord.py passes an unresolvable role id through as a bare Object.
            await reply(interaction, f"'{role.id}' is not a valid role here.")
            return
        if role is not None and (role.is_default() or role.managed):
            await reply(interaction, "Pick a normal role, not @everyone or a bot's own role.")
            return
        settings = await self.settings.set_role(
            interaction.guild_id, RoleKind(kind), role.id if role else None
        )
        label = ROLE_LABELS[RoleKind(kind)]
        await reply(interaction, f"{label} role: {_role(settings.role_id(RoleKind(kind)))}.")

    @app_commands.command(name="timezone", description="Set the server's default time zone")
    @app_commands.describe(name="An IANA name such as Europe/Berlin")
    @moderator_only()
    async def timezone(self, interaction: discord.Interaction, name: str) -> None:
        settings = await self.settings.set_timezone(interaction.guild_id, name)
        await reply(interaction, f"Server time zone: {settings.timezone}.")

    @timezone.autocomplete("name")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in search_timezones(current)]

    @app_commands.command(name="time", description="Set when a scheduled post goes out")
    @app_commands.describe(kind="Which post", time="24-hour HH:MM in the server's time zone")
    @app_commands.choices(
        kind=[app_commands.Choice(name=label, value=k.value) for k, label in TIME_LABELS.items()]
    )
    @moderator_only()
    async def time(self, interaction: discord.Interaction, kind: str, time: str) -> None:
        settings = await self.settings.set_time(interaction.guild_id, TimeKind(kind), time)
        label = TIME_LABELS[TimeKind(kind)]
        value = format_time_of_day(settings.time_of(TimeKind(kind)))
        await reply(interaction, f"{label}: {value} ({settings.timezone}).")


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(ConfigCog(bot))
