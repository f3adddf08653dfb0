"""Direct messages to members, who may have closed their DMs or left Discord."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bot.ui.replies import NO_PINGS

log = logging.getLogger(__name__)


async def send_dm(client: discord.Client, user_id: int, **kwargs: Any) -> bool:
    """Send a direct message. False when the member can't be reached (closed DMs, gone);
    other HTTP errors propagate so scheduled work can try again."""
    kwargs.setdefault("allowed_mentions", NO_PINGS)
    try:
        target = client.get_user(user_id) or await client.fetch_user(user_id)
        await target.send(**kwargs)
    except (discord.Forbidden, discord.NotFound):
        return False
    return True


async def send_dm_quietly(client: discord.Client, user_id: int, **kwargs: Any) -> bool:
    """Like `send_dm`, but any failure is logged and answered with False."""
    try:
        return await send_dm(client, user_id, **kwargs)
    except discord.HTTPException:
        log.warning("Could not DM user %s", user_id, exc_info=True)
        return False
