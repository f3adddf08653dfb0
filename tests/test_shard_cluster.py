"""A shard cluster: two bot processes of two shards each over one PostgreSQL database.

Each process is the real bot (`python -m simulator.clocked_bot`: `python -m bot run` on a
clock the test moves) with SHARD_COUNT=4 and SHARD_IDS 0-1 or 2-3, talking to the simulator
in this process through a port of its own, so every message says which process posted it
(`SimMessage.via_port`). Twenty servers have their daily challenge due at 09:00. Process A
is SIGKILLed right after Discord took its third post (before it could record it), and
restarted: every server still gets exactly one post, each from the process owning its
shard; B never posts for A's servers; and the global work moves to B while A is down.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import open_database
from bot.services.guild_settings import ChannelKind
from bot.wiring import build_services
from simulator import Simulator
from simulator.chaos import marker_count
from simulator.clocked_bot import CLOCK_FILE, SharedClock, read_tick
from simulator.process import BotProcess
from simulator.state import SimGuild

SHARD_COUNT = 4
SERVERS = 20
DAY = datetime(2026, 3, 10, tzinfo=UTC)
BEFORE = DAY + timedelta(hours=8, minutes=58)
DUE = DAY + timedelta(hours=9, seconds=30)  # every server's 09:00 daily challenge is due
MARKER = "Daily challenge of 2026-03-10"
HEARTBEAT_SECONDS = 1
READY_WITHIN = 60.0
KILL_AFTER_POSTS = 3


@dataclass
class Node:
    """One bot process of the cluster: its shards, folder, simulator port and process."""

    name: str
    shard_ids: str
    folder: Path
    api_url: str
    process: BotProcess | None = None

    @property
    def port(self) -> int:
        return int(self.api_url.split(":")[2].split("/")[0])

    @property
    def shards(self) -> set[int]:
        first, last = self.shard_ids.split("-")
        return set(range(int(first), int(last) + 1))

    def owns(self, guild: SimGuild) -> bool:
        return (guild.id >> 22) % SHARD_COUNT in self.shards

    def alive(self) -> bool:
        return self.process is not None and self.process.process.returncode is None


@pytest.fixture
def cluster_database(database_url: str | None) -> str:
    if database_url is None:
        pytest.skip(
            "a shard cluster needs PostgreSQL (TEST_DATABASE=postgres): SQLite is one process's"
        )
    return database_url


@pytest.fixture
async def server() -> AsyncIterator[Simulator]:
    simulator = Simulator()
    await simulator.start()
    simulator.gateway.recommended_shards = SHARD_COUNT
    yield simulator
    simulator.after_call = None
    await simulator.close()


async def configure(database_url: str, folder: Path, guilds: list[SimGuild]) -> None:
    """Each server has its challenge channel set (the daily challenge is at 09:00 UTC)."""
    settings = Settings(
        _env_file=None, database_path=folder / "setup.db", database_url=database_url
    )
    db = await open_database(settings.database_target)
    try:
        services = build_services(settings, db, FixedClock(BEFORE))
        for guild in guilds:
            await services.guild_settings.set_channel(
                guild.id, ChannelKind.CHALLENGE, guild.channel("challenges")
            )
    finally:
        await db.close()


async def start(node: Node, server: Simulator, database_url: str) -> None:
    env = {
        "DISCORD_API_URL": node.api_url,
        "DATABASE_URL": database_url,
        "SHARD_COUNT": str(SHARD_COUNT),
        "SHARD_IDS": node.shard_ids,
        "CLUSTER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "LOG_LEVEL": "INFO",
        "BACKUP_KEEP": "0",
        "SHUTDOWN_GRACE_SECONDS": "2",
    }
    node.process = await BotProcess.start(server, node.folder, env, clocked=True)


async def wait_ready(*nodes: Node) -> None:
    for node in nodes:
        assert node.process is not None
        await node.process.wait_for_log("Connected as", within=READY_WITHIN)


async def wait_for_tick(node: Node, at: datetime, within: float = 20.0) -> None:
    """Until the node's scheduler finished a tick at `at` (everything due then is handled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while read_tick(node.folder) != at:
        assert node.alive(), f"{node.name} died:\n" + "\n".join(node.process.lines[-20:])  # type: ignore[union-attr]
        assert loop.time() < deadline, f"{node.name}: no scheduler tick at {at}"
        await asyncio.sleep(0.02)


def set_clock(nodes: list[Node], when: datetime) -> None:
    for node in nodes:
        SharedClock(node.folder / CLOCK_FILE).set(when)


def daily_posts(server: Simulator, guild: SimGuild) -> list[int | None]:
    """The ports through which the day's challenge was posted in this server, one per post."""
    channel = guild.channel("challenges")
    return [
        m.via_port
        for m in server.state.channel_messages(channel)
        if marker_count([m], MARKER) and not m.deleted
    ]


@pytest.mark.xfail(
    reason="until feat/shards-bot limits each process's scheduled jobs to its own servers",
    strict=False,
)
async def test_two_processes_post_each_daily_challenge_once_across_a_kill_and_restart(
    server: Simulator, cluster_database: str, tmp_path: Path
) -> None:
    guilds = [server.add_community_guild(f"Server {n}") for n in range(SERVERS)]
    nodes = [
        Node("A", "0-1", tmp_path / "a", await server.listen()),
        Node("B", "2-3", tmp_path / "b", await server.listen()),
    ]
    a, b = nodes
    for node in nodes:
        node.folder.mkdir()
    mine = {node.name: [g for g in guilds if node.owns(g)] for node in nodes}
    assert len(mine["A"]) == len(mine["B"]) == SERVERS // 2
    await configure(cluster_database, tmp_path, guilds)
    set_clock(nodes, BEFORE)
    try:
        await asyncio.gather(*(start(node, server, cluster_database) for node in nodes))
        await wait_ready(a, b)

        def kill_a_mid_run(method: str, path: str, status: int) -> None:
            """SIGKILL A once Discord took its third post, before A hears of it."""
            if method != "POST" or not path.endswith("/messages") or not a.alive():
                return
            posted = sum(len(daily_posts(server, g)) for g in mine["A"])
            if posted >= KILL_AFTER_POSTS:
                assert a.process is not None
                os.kill(a.process.process.pid, signal.SIGKILL)

        server.after_call = kill_a_mid_run
        set_clock(nodes, DUE)
        await wait_for_tick(b, DUE)
        assert a.process is not None
        assert await asyncio.wait_for(a.process.process.wait(), 20) == -signal.SIGKILL
        server.after_call = None
        ports_in_a = [p for g in mine["A"] for p in daily_posts(server, g)]
        assert b.port not in ports_in_a, "B posted for servers of A's shards"
        assert len(ports_in_a) == KILL_AFTER_POSTS, "A was killed mid-run, with posts to go"
        posted_by_a = len(ports_in_a)

        # While A is down, B carries on with its own servers only, several ticks long.
        later = DUE + timedelta(seconds=30)
        for when in (later, later + timedelta(minutes=6)):
            set_clock(nodes, when)
            await wait_for_tick(b, when)
        assert sum(len(daily_posts(server, g)) for g in mine["A"]) == posted_by_a
        assert all(daily_posts(server, g) == [b.port] for g in mine["B"])

        # A comes back (once its heartbeat has gone stale) and catches up: past the
        # five-minute claim of the post it made without recording it.
        await asyncio.sleep(3 * HEARTBEAT_SECONDS + 0.5)
        await start(a, server, cluster_database)
        await wait_ready(a)
        final = later + timedelta(minutes=7)
        set_clock(nodes, final)
        await wait_for_tick(a, final)
        await wait_for_tick(b, final)
    finally:
        server.after_call = None
        for node in nodes:
            if node.process is not None:
                await node.process.stop()

    for node in nodes:
        for guild in mine[node.name]:
            assert daily_posts(server, guild) == [node.port], (node.name, guild.name)
    assert not server.state.problems, server.state.problems
