"""Which roles may be roadmap rewards, and who may map them: Discord's own hierarchy rules.

The bot grants reward roles with its own Manage Roles permission, so a mapping must never
let anyone hand out more than they could hand out themselves:
- the person mapping (or unmapping) needs Manage Roles, and every role involved must sit
  below their own highest role (the server owner passes, as on Discord);
- a role with a dangerous permission is never a reward, whoever asks;
- the role must sit below the bot's highest role, or Discord would refuse to grant it.
"""

from __future__ import annotations

import discord

from bot.errors import DomainError, PermissionDenied

# Permissions a reward role may never carry: each lets its holder act on other members,
# the server's structure, or everyone's notifications.
DANGEROUS_PERMISSIONS: dict[str, str] = {
    "administrator": "Administrator",
    "manage_guild": "Manage Server",
    "manage_roles": "Manage Roles",
    "manage_channels": "Manage Channels",
    "manage_webhooks": "Manage Webhooks",
    "ban_members": "Ban Members",
    "kick_members": "Kick Members",
    "moderate_members": "Timeout Members",
    "mention_everyone": "Mention @everyone",
    "manage_messages": "Manage Messages",
}


def dangerous_permissions(role: discord.Role) -> list[str]:
    """The dangerous permissions `role` carries, by their names in Discord's settings."""
    permissions = role.permissions
    return [label for name, label in DANGEROUS_PERMISSIONS.items() if getattr(permissions, name)]


def refuse_dangerous(role: discord.Role) -> None:
    found = dangerous_permissions(role)
    if found:
        raise DomainError(
            f"{role.mention} can't be a reward: it has {', '.join(found)}. Reward roles "
            "may not carry permissions over other members or the server."
        )


def check_reward_mapping(
    actor: discord.Member,
    guild: discord.Guild,
    new: discord.Role | None,
    replaced: discord.Role | None,
) -> None:
    """Refuse a mapping change `actor` could not make by hand on Discord, or an unsafe role.

    `new` is the role to map (None: unmap); `replaced` the role mapped there until now
    (members the bot gave it to lose it, so it falls under the same rule).
    """
    owner = guild.owner_id == actor.id
    if not actor.guild_permissions.manage_roles:
        raise PermissionDenied(
            "Mapping reward roles needs the Manage Roles permission, as giving roles by hand does."
        )
    for role in (new, replaced):
        if role is not None and not owner and role >= actor.top_role:
            raise PermissionDenied(
                f"{role.mention} is not below your highest role, so you can't give or take "
                "it yourself; the bot won't do it for you either."
            )
    if new is None:
        return
    if new.is_default() or new.managed:
        raise DomainError("Pick a normal role, not @everyone or a bot's own role.")
    refuse_dangerous(new)
    me = guild.me
    if me is None or new >= me.top_role:
        raise DomainError(
            f"{new.mention} is above my highest role, so Discord won't let me give it: move "
            "my role above it first (Server Settings > Roles)."
        )
