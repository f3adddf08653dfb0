"""Interactions sent straight through the simulator's server, without the harness's waits.

`sim.slash` waits until every handler of the bot in this process is done; a test of a busy
bot (one command still running) or of a bot in another process sends with these instead
and waits for the answer on the simulated Discord's side.
"""

from __future__ import annotations

import asyncio
from typing import Any

from simulator import Simulator, invocations
from simulator.state import (
    APPLICATION_COMMAND,
    MESSAGE_COMPONENT,
    SimGuild,
    SimInteraction,
    SimMessage,
    SimUser,
)


async def send_slash(
    server: Simulator, guild: SimGuild, user: SimUser, command: str, **options: Any
) -> SimInteraction:
    data = invocations.command_data(server.state, server.base_url, guild, command, options)
    return await server.send_interaction(
        APPLICATION_COMMAND, user, guild, guild.channel("general"), data
    )


async def send_click(
    server: Simulator, guild: SimGuild, user: SimUser, message: SimMessage, label: str
) -> SimInteraction:
    data = invocations.button_data(message, custom_id=None, label=label)
    return await server.send_interaction(
        MESSAGE_COMPONENT, user, guild, message.channel_id, data, message
    )


async def answer(server: Simulator, interaction: SimInteraction, within: float = 10) -> SimMessage:
    """The message the member finally sees (after a deferral, once it is filled in)."""
    await asyncio.wait_for(interaction.answered.wait(), within)
    message = server.state.messages.get(interaction.original_id or 0)
    if interaction.followup_ids:
        message = server.state.messages[interaction.followup_ids[0]]
    assert message is not None, f"interaction {interaction.id} was answered without a message"
    return message
