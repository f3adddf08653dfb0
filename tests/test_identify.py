"""Shards identify at Discord's pace: one per 5 s in each max_concurrency bucket, across the
processes of a cluster, and no slower. The simulator refuses an IDENTIFY that comes too
soon (as Discord does); both sides' 5 s are shortened so the tests take a second or two."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

import simulator.gateway
from bot import identify
from bot.app import MentorBot
from bot.clock import FixedClock
from bot.config import Settings
from bot.discord_endpoint import discord_pointed_at
from bot.wiring import build_services, open_configured_database
from simulator import Simulator
from tests.conftest import ON_POSTGRES

WINDOW = 0.6  # the simulator's IDENTIFY window, for Discord's 5 s
SPACING = WINDOW + 0.15  # the bot's, for its 5.25 s


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Simulator]:
    monkeypatch.setattr(simulator.gateway, "IDENTIFY_WINDOW_SECONDS", WINDOW)
    monkeypatch.setattr(identify, "IDENTIFY_SPACING", SPACING)
    sim = Simulator()
    sim.gateway.enforce_identify_limit = True
    await sim.start()
    with discord_pointed_at(sim.api_url):
        yield sim
    await sim.close()


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: FixedClock, sim: Simulator) -> AsyncIterator[Any]:
    """A bot process (its own database connections) until its shards are all connected."""
    db = await open_configured_database(settings)
    bot = MentorBot(build_services(settings, db, clock), start_scheduler=False)
    task = asyncio.create_task(bot.start(sim.state.token))
    try:
        yield bot
    finally:
        await bot.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        await db.close()


async def all_identified(sim: Simulator, count: int) -> list[float]:
    """When the simulator accepted each IDENTIFY, in seconds after the first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while len(sim.gateway.identified) < count:
        assert loop.time() < deadline, f"only {len(sim.gateway.identified)} shards identified"
        await asyncio.sleep(0.01)
    times = sorted(when for _, when in sim.gateway.identified)
    return [when - times[0] for when in times]


@pytest.mark.parametrize("max_concurrency", [1, 4])
async def test_one_process_identifies_each_bucket_at_discord_s_pace(
    server: Simulator, db_settings: dict[str, Any], clock: FixedClock, max_concurrency: int
) -> None:
    server.gateway.max_concurrency = max_concurrency
    settings = Settings(_env_file=None, **db_settings, shard_count=4)
    async with running(settings, clock, server):
        times = await all_identified(server, 4)
    assert server.gateway.identifies_refused == 0
    if max_concurrency == 1:  # one bucket: one shard per window
        assert all(b - a >= WINDOW for a, b in itertools.pairwise(times))
    else:  # a bucket each: all at once (discord.py alone waits 5 s between shards)
        assert times[-1] < WINDOW


@pytest.mark.skipif(not ON_POSTGRES, reason="runs with TEST_DATABASE=postgres")
async def test_two_processes_take_turns_in_their_shared_bucket(
    server: Simulator, db_settings: dict[str, Any], clock: FixedClock
) -> None:
    first = Settings(_env_file=None, **db_settings, shard_count=4, shard_ids="0-1")
    second = Settings(_env_file=None, **db_settings, shard_count=4, shard_ids="2-3")
    async with running(first, clock, server), running(second, clock, server):
        times = await all_identified(server, 4)
    assert server.gateway.identifies_refused == 0
    assert all(b - a >= WINDOW for a, b in itertools.pairwise(times))
    assert times[-1] < 4 * SPACING
