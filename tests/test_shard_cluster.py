"""A shard cluster: two bot processes of two shards each over one PostgreSQL database.

Each process is the real bot (`python -m simulator.clocked_bot`: `python -m bot run` on a
clock the test moves) with SHARD_COUNT=4 and SHARD_IDS 0-1 or 2-3, talking to the simulator
in this process through a port of its own, so every message says which process posted it
(`SimMessage.via_port`). Twenty servers have their daily challenge due at 09:00. One process
(the one holding the global work) is SIGKILLed right after Discord took its third post,
before it could record it, and restarted: every server still gets exactly one post, each
from the process owning its shard; the survivor never posts for the dead one's servers;
and the global work moves to the survivor within a minute. A second test restarts a killed
process a second later, as its supervisor would: it must not be refused as an overlap with
itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
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
GLOBAL_WORK_TAKEN = "now runs the cluster-wide work"  # bot/scheduler.py's log line


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

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.process.pid


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


async def cluster_rows(database_url: str, folder: Path, now: datetime) -> dict[int, str]:
    """Each process's heartbeat row as `python -m bot status` reads it, by pid: its shards,
    alive or gone at `now` (the processes' clock), and whether it does the global work."""
    settings = Settings(
        _env_file=None,
        database_path=folder / "status.db",
        database_url=database_url,
        cluster_heartbeat_seconds=HEARTBEAT_SECONDS,
    )
    db = await open_database(settings.database_target)
    try:
        cluster = build_services(settings, db, FixedClock(now)).cluster
        return {
            p.pid: f"{p.describe_shards()}, {'alive' if cluster.alive(p) else 'gone'}"
            + (", global work" if p.global_work else "")
            for p in await cluster.processes()
        }
    finally:
        await db.close()


def holds_global_work(node: Node) -> bool:
    """Whether the node's last word on the cluster's global-work lock is that it has it."""
    assert node.process is not None
    said = [line for line in node.process.lines if "cluster-wide work" in line]
    return bool(said) and GLOBAL_WORK_TAKEN in said[-1]


async def wait_until(condition: Callable[[], bool], within: float, what: str) -> float:
    """Seconds until `condition` held; fails after `within`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not condition():
        assert loop.time() - started < within, f"not within {within} s: {what}"
        await asyncio.sleep(0.05)
    return loop.time() - started


async def test_two_processes_post_each_daily_challenge_once_across_a_kill_and_restart(
    server: Simulator, cluster_database: str, tmp_path: Path
) -> None:
    guilds = [server.add_community_guild(f"Server {n}") for n in range(SERVERS)]
    nodes = [
        Node("0-1", "0-1", tmp_path / "a", await server.listen()),
        Node("2-3", "2-3", tmp_path / "b", await server.listen()),
    ]
    for node in nodes:
        node.folder.mkdir()
    mine = {node.name: [g for g in guilds if node.owns(g)] for node in nodes}
    assert [len(servers) for servers in mine.values()] == [SERVERS // 2] * 2
    await configure(cluster_database, tmp_path, guilds)
    set_clock(nodes, BEFORE)
    try:
        await asyncio.gather(*(start(node, server, cluster_database) for node in nodes))
        await wait_ready(*nodes)
        # The process doing the global work is the one killed: the work must move.
        await wait_until(lambda: any(map(holds_global_work, nodes)), 20, "a global-work holder")
        victim, survivor = sorted(nodes, key=holds_global_work, reverse=True)
        assert not holds_global_work(survivor), "two processes hold the global work"

        def kill_mid_run(method: str, path: str, status: int) -> None:
            """SIGKILL the victim once Discord took its third post, before it hears of it."""
            if method != "POST" or not path.endswith("/messages") or not victim.alive():
                return
            if sum(len(daily_posts(server, g)) for g in mine[victim.name]) >= KILL_AFTER_POSTS:
                assert victim.process is not None
                os.kill(victim.process.process.pid, signal.SIGKILL)

        server.after_call = kill_mid_run
        set_clock(nodes, DUE)
        await wait_for_tick(survivor, DUE)
        assert victim.process is not None
        assert await asyncio.wait_for(victim.process.process.wait(), 20) == -signal.SIGKILL
        killed_pid = victim.pid
        server.after_call = None
        ports = [p for g in mine[victim.name] for p in daily_posts(server, g)]
        assert survivor.port not in ports, "the survivor posted for the dead one's servers"
        assert ports == [victim.port] * KILL_AFTER_POSTS, "killed mid-run, with posts to go"

        # The global work moves to the survivor within a minute.
        moved = await wait_until(lambda: holds_global_work(survivor), 60, "global work moved")
        print(f"global work moved to the survivor {moved:.1f} s after the kill")

        # While the victim is down, the survivor carries on with its own servers only.
        later = DUE + timedelta(seconds=30)
        for when in (later, later + timedelta(minutes=6)):
            set_clock(nodes, when)
            await wait_for_tick(survivor, when)
        assert [p for g in mine[victim.name] for p in daily_posts(server, g)] == ports
        assert all(daily_posts(server, g) == [survivor.port] for g in mine[survivor.name])

        # The victim comes back and catches up, past the five-minute claim of the post it
        # made without recording it.
        await start(victim, server, cluster_database)
        await wait_ready(victim)
        final = later + timedelta(minutes=7)
        set_clock(nodes, final)
        await wait_for_tick(victim, final)
        await wait_for_tick(survivor, final)
        assert holds_global_work(survivor) and not holds_global_work(victim)
        await asyncio.sleep(2 * HEARTBEAT_SECONDS)  # a heartbeat at `final` from each
        rows = await cluster_rows(cluster_database, tmp_path, final)
        assert rows == {
            killed_pid: f"shards {victim.shard_ids} of 4, gone, global work",
            victim.pid: f"shards {victim.shard_ids} of 4, alive",
            survivor.pid: f"shards {survivor.shard_ids} of 4, alive, global work",
        }, rows
    finally:
        server.after_call = None
        for node in nodes:
            if node.process is not None:
                await node.process.stop()

    for node in nodes:
        for guild in mine[node.name]:
            assert daily_posts(server, guild) == [node.port], (node.name, guild.name)
    assert not server.state.problems, server.state.problems


async def test_a_process_killed_and_restarted_at_once_by_its_supervisor_comes_back(
    server: Simulator, cluster_database: str, tmp_path: Path
) -> None:
    """systemd restarts a crashed bot 5 s later (deploy/mentor.service) and never after an
    exit status 2: a restart over the same shards must not be refused as an overlap."""
    server.add_community_guild()
    env = {
        "DATABASE_URL": cluster_database,
        "SHARD_COUNT": "2",
        "SHARD_IDS": "0",
        "LOG_LEVEL": "INFO",
        "BACKUP_KEEP": "0",
    }
    first = await BotProcess.start(server, tmp_path, env)
    try:
        await first.wait_for_log("Joined the cluster", within=READY_WITHIN)
        await first.kill()
        await asyncio.sleep(1)
        restarted = await BotProcess.start(server, tmp_path, env)
        try:
            await restarted.wait_for_log("Joined the cluster", within=READY_WITHIN)
        finally:
            await restarted.stop()
    finally:
        await first.stop()
