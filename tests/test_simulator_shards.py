"""The simulator's shards, seen from raw gateway connections as several bot processes see
them: each shard gets its own servers and their events, interactions included; direct
messages go to shard 0; /gateway/bot recommends a shard count; and, when asked to, the
gateway refuses a second IDENTIFY within 5 s in one max_concurrency bucket, as Discord does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulator import Simulator
from simulator.gateway import DISPATCH, IDENTIFY, INVALID_SESSION
from simulator.state import APPLICATION_COMMAND, SimGuild

PING_DATA = {"id": "1", "name": "ping", "type": 1}


@pytest.fixture
async def server() -> AsyncIterator[Simulator]:
    simulator = Simulator()
    await simulator.start()
    yield simulator
    await simulator.close()


class Shard:
    """One raw gateway connection that IDENTIFYs as a shard and keeps what it receives."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ops: list[int] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, server: Simulator, shard: list[int]
    ) -> Shard:
        socket = await session.ws_connect(server.gateway_url)
        connected = cls(socket)
        identify = {"token": server.state.token, "intents": 1, "shard": shard}
        await socket.send_str(json.dumps({"op": IDENTIFY, "d": identify}))
        return connected

    async def _read(self) -> None:
        async for frame in self.socket:
            message = json.loads(frame.data)
            self.ops.append(message["op"])
            if message["op"] == DISPATCH:
                self.events.append((message["t"], message["d"]))

    def guild_ids(self, event: str) -> set[int]:
        return {int(d.get("guild_id") or d["id"]) for t, d in self.events if t == event}

    def interaction_ids(self) -> set[int]:
        return {int(d["id"]) for t, d in self.events if t == "INTERACTION_CREATE"}


async def settle(*shards: Shard) -> None:
    """Wait until the frames already sent have been read."""
    for _ in range(100):
        await asyncio.sleep(0.01)
        if all(shard.events or INVALID_SESSION in shard.ops for shard in shards):
            await asyncio.sleep(0.05)
            return


def owner(guild: SimGuild, count: int) -> int:
    return (guild.id >> 22) % count


async def test_each_shard_gets_its_own_servers_and_their_interactions(server: Simulator) -> None:
    guilds = [server.add_community_guild(f"Server {n}") for n in range(8)]
    assert {owner(g, 4) for g in guilds} == {0, 1, 2, 3}, "servers made at once still spread"
    async with aiohttp.ClientSession() as session:
        shards = [await Shard.connect(session, server, [n, 4]) for n in range(4)]
        await settle(*shards)
        for n, shard in enumerate(shards):
            mine = {g.id for g in guilds if owner(g, 4) == n}
            assert shard.guild_ids("GUILD_CREATE") == mine
            assert {int(g["id"]) for g in shard.events[0][1]["guilds"]} == mine  # READY

        sent = {}
        for guild in guilds:
            user = server.add_member(guild, f"member-of-{guild.id}")
            interaction = await server.send_interaction(
                APPLICATION_COMMAND, user, guild, guild.channel("general"), PING_DATA
            )
            sent[interaction.id] = guild
        dm_user = server.state.add_user("someone")
        dm = await server.send_interaction(
            APPLICATION_COMMAND, dm_user, None, server.state.dm_channel(dm_user).id, PING_DATA
        )
        await asyncio.sleep(0.1)
        for n, shard in enumerate(shards):
            expected = {i for i, g in sent.items() if owner(g, 4) == n}
            if n == 0:
                expected.add(dm.id)  # Discord sends direct messages to shard 0 only
            assert shard.interaction_ids() == expected, n
        for shard in shards:
            await shard.socket.close()


async def test_gateway_bot_recommends_shards_and_tells_the_concurrency(server: Simulator) -> None:
    for n in range(3):
        server.add_community_guild(f"Server {n}")
    async with aiohttp.ClientSession() as session:

        async def gateway_bot() -> dict[str, Any]:
            headers = {"Authorization": f"Bot {server.state.token}"}
            async with session.get(f"{server.api_url}/gateway/bot", headers=headers) as r:
                return await r.json()

        first = await gateway_bot()
        assert first["shards"] == 1  # one per 1,000 servers, at least one
        assert first["session_start_limit"]["max_concurrency"] == 1
        server.gateway.recommended_shards = 4
        server.gateway.max_concurrency = 16
        second = await gateway_bot()
        assert second["shards"] == 4
        assert second["session_start_limit"]["max_concurrency"] == 16


async def test_a_second_identify_in_a_bucket_within_5_s_is_refused(server: Simulator) -> None:
    server.add_community_guild()
    server.gateway.enforce_identify_limit = True
    async with aiohttp.ClientSession() as session:
        first = await Shard.connect(session, server, [0, 2])
        too_soon = await Shard.connect(session, server, [1, 2])
        await settle(first, too_soon)
        assert first.events and first.events[0][0] == "READY"
        assert too_soon.ops[-1] == INVALID_SESSION and not too_soon.events
        assert server.gateway.identifies_refused == 1

        server.gateway.max_concurrency = 2  # shard 1 is in a bucket of its own
        other_bucket = await Shard.connect(session, server, [1, 2])
        await settle(other_bucket)
        assert other_bucket.events and other_bucket.events[0][0] == "READY"
        for shard in (first, too_soon, other_bucket):
            await shard.socket.close()
