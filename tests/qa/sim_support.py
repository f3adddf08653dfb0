"""Helpers for driving Q&A through the simulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import aiohttp

from simulator import payloads
from simulator.harness import Reply, SimHarness
from simulator.state import APPLICATION_COMMAND, SimMessage, SimUser

MESSAGE_COMMAND = 3


async def message_command(sim: SimHarness, user: SimUser, name: str, message: SimMessage) -> Reply:
    """Right-click `message` > Apps > `name`, as a member's client sends it."""
    state = sim.server.state
    command = next(
        c
        for c in state.commands_for(sim.guild.id)
        if c["name"] == name and c.get("type") == MESSAGE_COMMAND
    )
    data = {
        "id": command["id"],
        "name": command["name"],
        "type": MESSAGE_COMMAND,
        "target_id": str(message.id),
        "resolved": {
            "messages": {str(message.id): payloads.message(state, sim.server.base_url, message)}
        },
    }
    interaction = await sim.server.send_interaction(
        APPLICATION_COMMAND, user, sim.guild, message.channel_id, data
    )
    return await sim.wait_for_answer(interaction)


async def wait_until(predicate: Callable[[], Any]) -> Any:
    """Poll the simulator's state until `predicate` is truthy (at most 5 s); return it."""
    for _ in range(1000):
        if value := predicate():
            return value
        await asyncio.sleep(0.005)
    raise TimeoutError("condition never became true")


def buttons(message: SimMessage) -> list[dict[str, Any]]:
    return [c for row in message.components for c in row.get("components", [])]


def button_ids(message: SimMessage) -> list[str]:
    return [b.get("custom_id", "") for b in buttons(message)]


@contextmanager
def sent_payloads() -> Iterator[list[dict[str, Any]]]:
    """Every JSON body the bot sends while the block runs (messages, edits, responses)."""
    seen: list[dict[str, Any]] = []
    original = aiohttp.ClientSession._request

    async def spy(self: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
        body = kwargs.get("data")
        if isinstance(body, str | bytes):
            with suppress(ValueError):
                seen.append(json.loads(body))
        elif isinstance(body, aiohttp.FormData):
            for field in body._fields:
                if field[0].get("name") == "payload_json":
                    seen.append(json.loads(field[2]))
        elif kwargs.get("json") is not None:
            seen.append(kwargs["json"])
        return await original(self, method, url, **kwargs)

    aiohttp.ClientSession._request = spy  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        aiohttp.ClientSession._request = original  # type: ignore[method-assign]


def message_bodies(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The message payloads among `bodies` (interaction callbacks unwrapped)."""
    found = []
    for body in bodies:
        if "type" in body and isinstance(body.get("data"), dict):
            body = body["data"]
        if "content" in body or "embeds" in body:
            found.append(body)
    return found
