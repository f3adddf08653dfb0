"""Permission checks for app commands: moderators and reviewers, per server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.services.guild_settings import GuildSettings
from bot.ui.errors import NotModerator, NotReviewer

if TYPE_CHECKING:
    from bot.app import MentorBot


def member_is_moderator(member: discord.Member, settings: GuildSettings) -> bool:
    """Manage Server (or Administrator), or the server's configured moderator role."""
    if member.guild_permissions.manage_guild or member.guild_permissions.administrator:
        return True
    role_id = settings.moderator_role_id
    return role_id is not None and any(role.id == role_id for role in member.roles)


def member_is_reviewer(member: discord.Member, settings: GuildSettings) -> bool:
    """The configured reviewer role, or a moderator."""
    if member_is_moderator(member, settings):
        return True
    role_id = settings.reviewer_role_id
    return role_id is not None and any(role.id == role_id for role in member.roles)


def guild_id_of(interaction: discord.Interaction) -> int:
    """The server an interaction happened in; NoPrivateMessage in a DM."""
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


async def settings_for(interaction: discord.Interaction) -> GuildSettings:
    """The settings of the server an interaction happened in."""
    bot: MentorBot = interaction.client  # type: ignore[assignment]
    return await bot.services.guild_settings.get(guild_id_of(interaction))


async def is_moderator(interaction: discord.Interaction) -> bool:
    """Whether the member who interacted is a moderator of this server."""
    if not isinstance(interaction.user, discord.Member):
        return False
    return member_is_moderator(interaction.user, await settings_for(interaction))


async def ensure_moderator(interaction: discord.Interaction) -> GuildSettings:
    settings = await settings_for(interaction)
    if not isinstance(interaction.user, discord.Member) or not member_is_moderator(
        interaction.user, settings
    ):
        raise NotModerator(
            "Only moderators can do this (Manage Server, or the moderator role set in /config)."
        )
    return settings


async def ensure_reviewer(interaction: discord.Interaction) -> GuildSettings:
    settings = await settings_for(interaction)
    if not isinstance(interaction.user, discord.Member) or not member_is_reviewer(
        interaction.user, settings
    ):
        raise NotReviewer("Only reviewers and moderators can do this.")
    return settings


def moderator_only() -> app_commands.check:  # type: ignore[valid-type]
    """App command check: the invoker must be a moderator of this server."""

    async def predicate(interaction: discord.Interaction) -> bool:
        await ensure_moderator(interaction)
        return True

    return app_commands.check(predicate)


def reviewer_only() -> app_commands.check:  # type: ignore[valid-type]
    async def predicate(interaction: discord.Interaction) -> bool:
        await ensure_reviewer(interaction)
        return True

    return app_commands.check(predicate)
