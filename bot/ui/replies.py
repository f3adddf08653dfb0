"""Answer an interaction correctly whether or not it was already answered or deferred."""

from __future__ import annotations

from typing import Any

import discord

from bot.discord_limits import MESSAGE

NO_PINGS = discord.AllowedMentions.none()


def ping_only(user_id: int) -> discord.AllowedMentions:
    """Mentions that notify this one member and nobody else (no roles, no @everyone)."""
    return discord.AllowedMentions(
        everyone=False, roles=False, replied_user=False, users=[discord.Object(user_id)]
    )


def clip(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def reply(
    interaction: discord.Interaction,
    content: str | None = None,
    *,
    ephemeral: bool = True,
    **kwargs: Any,
) -> int | None:
    """Send `content` as the response, or as a follow-up when the response is already used;
    return the message's id when Discord gave it.

    Mentions are off unless the caller passes `allowed_mentions` itself.
    """
    kwargs.setdefault("allowed_mentions", NO_PINGS)
    if content is not None:
        content = clip(content, MESSAGE)
    if interaction.response.is_done():
        message = await interaction.followup.send(content, ephemeral=ephemeral, **kwargs)
        return message.id
    sent = await interaction.response.send_message(content, ephemeral=ephemeral, **kwargs)
    return sent.message_id
