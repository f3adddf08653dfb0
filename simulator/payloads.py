"""Discord JSON objects (API v10) built from the simulator's state, as Discord sends them."""

from __future__ import annotations

from typing import Any

from simulator.state import (
    DM,
    GUILD_FORUM,
    SimAttachment,
    SimChannel,
    SimGuild,
    SimInteraction,
    SimMessage,
    SimRole,
    SimState,
    SimUser,
    iso,
)

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def user(u: SimUser) -> dict[str, Any]:
    return {
        "id": str(u.id),
        "username": u.name,
        "global_name": None if u.bot else u.name.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": u.bot,
        "system": False,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "primary_guild": None,
        "collectibles": None,
    }


def bot_user(state: SimState) -> dict[str, Any]:
    data = user(state.bot_user)
    data.update({"verified": True, "mfa_enabled": False, "locale": "en-US", "email": None})
    return data


def application(state: SimState) -> dict[str, Any]:
    return {
        "id": str(state.application_id),
        "name": state.bot_user.name,
        "icon": None,
        "description": "Simulated application",
        "summary": "",
        "type": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": 1 << 19,  # GATEWAY_MESSAGE_CONTENT_LIMITED
        "owner": user(state.owner),
        "team": None,
        "rpc_origins": [],
        "tags": [],
        "install_params": None,
        "interactions_endpoint_url": None,
        "redirect_uris": [],
        "approximate_guild_count": len(state.guilds),
        "bot": user(state.bot_user),
    }


def role(r: SimRole) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(r.id),
        "name": r.name,
        "color": r.colour,
        "colors": {"primary_color": r.colour, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": r.position,
        "permissions": str(r.permissions),
        "managed": r.managed,
        "mentionable": False,
        "flags": 0,
    }
    if r.bot_id is not None:
        data["tags"] = {"bot_id": str(r.bot_id)}
    return data


def member(
    state: SimState, guild: SimGuild, user_id: int, *, with_user: bool = True
) -> dict[str, Any]:
    m = guild.members[user_id]
    data: dict[str, Any] = {
        "nick": None,
        "avatar": None,
        "banner": None,
        "roles": [str(r) for r in m.role_ids],
        "joined_at": iso(m.joined_at),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = user(state.users[user_id])
    return data


def interaction_member(state: SimState, guild: SimGuild, user_id: int) -> dict[str, Any]:
    """The member object in an interaction: it also carries the computed permissions."""
    data = member(state, guild, user_id)
    data["permissions"] = str(guild.permissions_of(user_id))
    return data


def channel(state: SimState, c: SimChannel) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(c.id), "type": c.type, "flags": 0}
    if c.type == DM:
        data.update(
            {
                "last_message_id": None,
                "recipients": [user(state.users[u]) for u in c.recipient_ids],
            }
        )
        return data
    data.update(
        {
            "guild_id": str(c.guild_id),
            "name": c.name,
            "parent_id": str(c.parent_id) if c.parent_id else None,
            "rate_limit_per_user": 0,
            "nsfw": False,
            "last_message_id": None,
        }
    )
    if c.is_thread:
        data.update(
            {
                "owner_id": str(c.owner_id) if c.owner_id else None,
                "message_count": c.message_count,
                "total_message_sent": c.message_count,
                "member_count": len(c.member_ids),
                "applied_tags": [str(t) for t in c.applied_tags],
                "thread_metadata": {
                    "archived": c.archived,
                    "auto_archive_duration": c.auto_archive_duration,
                    "archive_timestamp": iso(c.created_at),
                    "locked": c.locked,
                    "create_timestamp": iso(c.created_at),
                },
            }
        )
        return data
    data.update({"position": c.position, "permission_overwrites": [], "topic": c.topic})
    if c.type == GUILD_FORUM:
        data.update(
            {
                "available_tags": [],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
                "default_thread_rate_limit_per_user": 0,
                "default_auto_archive_duration": 1440,
            }
        )
    return data


def resolved_channel(state: SimState, c: SimChannel, permissions: int) -> dict[str, Any]:
    data = channel(state, c)
    data["permissions"] = str(permissions)
    return data


def active_threads(state: SimState) -> dict[int, list[SimChannel]]:
    """Every guild's active threads, in one pass over the channels."""
    threads: dict[int, list[SimChannel]] = {}
    for c in state.channels.values():
        if c.is_thread and not c.archived and c.guild_id is not None:
            threads.setdefault(c.guild_id, []).append(c)
    return threads


def guild_create(
    state: SimState,
    g: SimGuild,
    *,
    all_members: bool = False,
    threads: dict[int, list[SimChannel]] | None = None,
) -> dict[str, Any]:
    """GUILD_CREATE. Discord lists every member only for bots with the presence intent;
    others get their own member (and voice members, which the simulator has none of).
    `threads`: `active_threads(state)`, computed once for many guilds."""
    listed = list(g.members) if all_members else [state.bot_user.id]
    channels = [state.channels[c] for c in g.channel_ids]
    active = (threads if threads is not None else active_threads(state)).get(g.id, [])
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": str(g.owner_id),
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "features": ["COMMUNITY"],
        "application_id": None,
        "system_channel_id": None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "vanity_url_code": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "roles": [role(r) for r in g.roles.values()],
        "emojis": [],
        "stickers": [],
        "joined_at": iso(g.members[state.bot_user.id].joined_at),
        "large": len(g.members) > 250,
        "unavailable": False,
        "member_count": len(g.members),
        "voice_states": [],
        "members": [member(state, g, u) for u in listed],
        "channels": [channel(state, c) for c in channels],
        "threads": [channel(state, t) for t in active],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "incidents_data": None,
    }


def attachment(base_url: str, a: SimAttachment) -> dict[str, Any]:
    url = f"{base_url}/attachments/{a.id}/{a.filename}"
    return {
        "id": str(a.id),
        "filename": a.filename,
        "size": len(a.data),
        "url": url,
        "proxy_url": url,
        "content_type": a.content_type,
        "description": a.description,
        "flags": 0,
    }


def message(state: SimState, base_url: str, m: SimMessage) -> dict[str, Any]:
    c = state.channels.get(m.channel_id)
    data: dict[str, Any] = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "author": user(state.users[m.author_id]),
        "content": m.content,
        "timestamp": iso(m.timestamp),
        "edited_timestamp": iso(m.edited_at) if m.edited_at else None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [attachment(base_url, a) for a in m.attachments],
        "embeds": m.embeds,
        "components": m.components,
        "pinned": False,
        "type": 20 if m.interaction_id else 0,
        "flags": m.flags,
    }
    if c is not None and c.guild_id:
        data["guild_id"] = str(c.guild_id)
    if m.webhook_id:
        data["webhook_id"] = str(m.webhook_id)
        data["application_id"] = str(state.application_id)
    if m.interaction_id and m.interaction_id in state.interactions:
        i = state.interactions[m.interaction_id]
        data["interaction_metadata"] = {
            "id": str(i.id),
            "type": i.type,
            "user": user(state.users[i.user_id]),
            "authorizing_integration_owners": {"0": str(i.guild_id)} if i.guild_id else {},
        }
    if m.thread_id and m.thread_id in state.channels:
        data["thread"] = channel(state, state.channels[m.thread_id])
    return data


def interaction(
    state: SimState, i: SimInteraction, data: dict[str, Any], message_data: dict[str, Any] | None
) -> dict[str, Any]:
    """INTERACTION_CREATE as Discord dispatches it for a member in a guild channel."""
    c = state.channels[i.channel_id]
    guild = state.guilds[i.guild_id] if i.guild_id else None
    payload: dict[str, Any] = {
        "id": str(i.id),
        "application_id": str(state.application_id),
        "type": i.type,
        "data": data,
        "channel_id": str(c.id),
        "channel": resolved_channel(
            state,
            c,
            guild.permissions_of(i.user_id) if guild else 0,
        ),
        "token": i.token,
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "authorizing_integration_owners": {"0": str(guild.id)} if guild else {"1": str(i.user_id)},
        "context": 0 if guild else 1,
    }
    if guild is not None:
        payload.update(
            {
                "guild_id": str(guild.id),
                "guild": {"id": str(guild.id), "locale": "en-US", "features": ["COMMUNITY"]},
                "guild_locale": "en-US",
                "member": interaction_member(state, guild, i.user_id),
                "app_permissions": str(guild.permissions_of(state.bot_user.id)),
            }
        )
    else:
        payload["user"] = user(state.users[i.user_id])
        payload["app_permissions"] = str(1 << 11 | 1 << 14 | 1 << 15)
    if message_data is not None:
        payload["message"] = message_data
    return payload
