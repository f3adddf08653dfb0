"""Answer an interaction correctly whether or not it was already answered or deferred."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import discord

from bot.discord_limits import MESSAGE

NO_PINGS = discord.AllowedMentions.none()
# Discord drops an interaction not acknowledged within 3 s; work still running after this
# long (a write waiting for a database lock another program holds) is deferred first.
DEFER_AFTER_SECONDS = 1.5
T = TypeVar("T")


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


async def in_time(interaction: discord.Interaction, work: Awaitable[T], *, ephemeral: bool) -> T:
    """Await `work`; if it takes longer than DEFER_AFTER_SECONDS, acknowledge the interaction
    first ("thinking"), so the answer can follow whenever the work ends."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=DEFER_AFTER_SECONDS)
    if not done and not interaction.response.is_done():
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    return await task
