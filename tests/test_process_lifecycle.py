"""`python -m bot run` as a real process: SIGTERM exits cleanly, SIGKILL loses nothing acknowledged.

The bot runs in its own process against a simulator in this one, as in production, with
the health endpoint on and DEBUG logging (the chattiest, for the secrets check).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from simulator import Simulator
from simulator.process import BotProcess
from simulator.state import SimGuild
from tests.sim_wire import answer, send_slash

API_KEY = "sk-ops-test-4f1c2a9e7b"
EXIT_TIMEOUT = 15


@pytest.fixture
async def server() -> AsyncIterator[Simulator]:
    simulator = Simulator()
    await simulator.start()
    simulator.add_community_guild()
    yield simulator
    await simulator.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def guild_of(server: Simulator) -> SimGuild:
    return next(iter(server.state.guilds.values()))


# READY plus discord.py's wait for the servers' data (2 s): what /healthz needs.
READY_LINE = "Connected as"
# Logged right after IDENTIFY: enough to take commands, and the scheduler already runs.
GATEWAY_LINE = "has connected to Gateway"


async def start_bot(
    server: Simulator, folder: Path, wait_for: str = READY_LINE, **env: str
) -> BotProcess:
    settings = {
        "LOG_LEVEL": "DEBUG",
        "LLM_API_KEY": API_KEY,
        "LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "SCHEDULER_INTERVAL_SECONDS": "1",
        "BACKUP_TIME": "00:00",
        "SHUTDOWN_GRACE_SECONDS": "5",
        **env,
    }
    bot = await BotProcess.start(server, folder, settings)
    await bot.wait_for_log(wait_for, within=30)
    return bot


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def exit_code(bot: BotProcess) -> int:
    code = await asyncio.wait_for(bot.process.wait(), EXIT_TIMEOUT)
    await asyncio.sleep(0.05)  # the last log lines
    return code


def wal_exists(database: Path) -> bool:
    return Path(f"{database}-wal").exists()


def state_of(database: Path, key: str) -> str | None:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        row = conn.execute("SELECT value FROM bot_state WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def processes_of(database: Path) -> list[tuple[int, str, str]]:
    """The rows of `cluster_processes`: pid, started_at, last_beat."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return conn.execute("SELECT pid, started_at, last_beat FROM cluster_processes").fetchall()


async def test_sigterm_finishes_cleanly_exits_0_and_never_logs_a_secret(
    server: Simulator, tmp_path: Path
) -> None:
    port = free_port()
    bot = await start_bot(server, tmp_path, HEALTH_PORT=str(port), CLUSTER_HEARTBEAT_SECONDS="1")
    guild = guild_of(server)
    database = tmp_path / "mentor.db"
    try:
        (started,) = processes_of(database)  # the process joined the cluster's table...
        assert started[0] == bot.process.pid
        await asyncio.sleep(2.2)
        (beating,) = processes_of(database)
        assert beating[2] > started[2]  # ...and beats
        status, body = await get(port, "/healthz")
        assert status == 200, body
        health = json.loads(body)
        assert health["shards"] == "0" and health["shard_count"] == "1"
        assert health["gateway"]["0"]["connected"] and health["gateway"]["0"]["ready"]
        export = await answer(
            server,
            await send_slash(server, guild, server.add_member(guild, "alice"), "privacy export"),
        )
        assert export.files and export.ephemeral
        status, metrics = await get(port, "/metrics")
        shards = 'shard_count="1",shards="0"'  # every sample names the process's shards
        assert (
            f'mentor_commands_total{{command="privacy export",outcome="ok",{shards}}} 1.0'
            in metrics
        )
        assert f"mentor_guilds{{{shards}}} 1.0" in metrics

        bot.process.send_signal(signal.SIGTERM)
        assert await exit_code(bot) == 0
    finally:
        await bot.stop()

    log = "\n".join(bot.lines)
    assert "Received SIGTERM: shutting down" in log
    assert "Stopped cleanly" in log
    assert "command /privacy export" in log and "outcome=ok" in log
    assert "discord.gateway" in log, "DEBUG lines from discord.py must be there to check"
    assert server.state.token not in log
    assert API_KEY not in log
    assert "Traceback" not in log
    assert not wal_exists(database)  # closed: the log was checkpointed
    assert processes_of(database) == []  # it left the cluster's table on its way out
    assert state_of(database, "running_since") is None  # marked as a clean stop


async def test_sigkill_loses_nothing_acknowledged_and_restart_catches_up_once(
    server: Simulator, tmp_path: Path
) -> None:
    guild = guild_of(server)
    moderator = server.add_member(guild, "mo", moderator=True)
    bot = await start_bot(server, tmp_path, GATEWAY_LINE, LOG_LEVEL="INFO")
    writes = [
        ("config timezone", {"name": "Europe/Berlin"}, "timezone", "Europe/Berlin"),
        ("config time", {"kind": "digest", "time": "07:15"}, "digest_time", "07:15"),
        (
            "config time",
            {"kind": "daily_challenge", "time": "18:40"},
            "daily_challenge_time",
            "18:40",
        ),
        (
            "config channel",
            {"kind": "qa", "channel": guild.channel("qa")},
            "qa_channel_id",
            guild.channel("qa"),
        ),
    ]
    try:
        await bot.wait_for_log("Backup written to", within=10)
        for command, options, column, value in writes:
            reply = await answer(
                server, await send_slash(server, guild, moderator, command, **options)
            )
            shown = f"<#{value}>" if column.endswith("_channel_id") else str(value)
            assert shown in reply.content, reply.content  # acknowledged to the member
        # The next command is on its way when the process dies, mid-flight.
        await send_slash(server, guild, moderator, "config timezone", name="Asia/Tokyo")
        bot.process.send_signal(signal.SIGKILL)
        assert await exit_code(bot) == -signal.SIGKILL
    finally:
        await bot.stop()

    database = tmp_path / "mentor.db"
    assert state_of(database, "running_since") is not None  # it never stopped cleanly
    restarted = await start_bot(server, tmp_path, GATEWAY_LINE, LOG_LEVEL="INFO")
    try:
        assert any("did not stop cleanly" in line for line in restarted.lines)
        with contextlib.closing(sqlite3.connect(database)) as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute(
                "SELECT * FROM guild_settings WHERE guild_id = ?", (guild.id,)
            ).fetchone()
        for _, _, column, value in writes[1:]:
            assert row[column] == value, column
        assert row["timezone"] in (
            "Europe/Berlin",
            "Asia/Tokyo",
        )  # the unanswered one may or may not
        await asyncio.sleep(1.2)  # at least one whole tick of the restarted scheduler
        backups = sorted(p.name for p in (tmp_path / "backups").glob("mentor-*.db"))
        days = [name.split("T")[0] for name in backups]
        assert len(backups) == len(set(days)) >= 1, backups  # one backup a day, never two

        restarted.process.send_signal(signal.SIGTERM)
        assert await exit_code(restarted) == 0
    finally:
        await restarted.stop()
