"""The start-up path up to login, as a real `python -m bot run` process, and every extension."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import extension_names
from simulator import Simulator
from simulator.process import BotProcess

ROOT = Path(__file__).resolve().parent.parent


def bot_env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "LLM_"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_PATH=str(tmp_path / "mentor.db"), **values)
    return env


@pytest.fixture
async def server():
    simulator = Simulator()
    await simulator.start()
    simulator.add_community_guild()
    yield simulator
    await simulator.close()


async def run_bot(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_run_with_a_token_logs_in_reaches_ready_and_answers(tmp_path, server):
    bot = await BotProcess.start(server, tmp_path)
    try:
        await bot.wait_for_log("has connected to Gateway", within=30)
        assert (tmp_path / "mentor.db").exists()  # migrated before connecting
        assert {c["name"] for c in server.state.global_commands} >= {"config", "ping"}
        alice = server.add_member(next(iter(server.state.guilds.values())), "alice")
        reply = await server.slash(alice, "ping")
        assert reply.ephemeral and reply.content.startswith("Pong.")
    finally:
        await bot.stop()
    assert server.gateway.identifies == 1
    assert not server.state.problems


async def test_run_with_a_bad_token_exits_2_with_one_line(tmp_path, server):
    env = bot_env(
        tmp_path, DISCORD_TOKEN="not-the-token", DISCORD_API_URL=server.api_url, LOG_LEVEL="ERROR"
    )
    process = await run_bot(tmp_path, env)
    _out, err = await asyncio.wait_for(process.communicate(), 30)
    lines = err.decode().strip().splitlines()
    assert process.returncode == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: Discord rejected DISCORD_TOKEN")
    assert server.gateway.identifies == 0


def test_the_bot_loads_no_simulator_code():
    """`python -m bot run` imports the composition root and every extension, never the
    simulator (only the playground, the tests and the benchmarks use it)."""
    script = (
        "import importlib, sys\n"
        "import bot.__main__\n"
        "from bot.app import extension_names\n"
        "for name in extension_names():\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if 'simulator' in m.split('.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_extension_is_found():
    assert "cogs.config" in extension_names()
    assert all(not name.rsplit(".", 1)[-1].startswith("_") for name in extension_names())


async def test_every_extension_loads_and_registers_its_commands(sim):
    assert set(sim.bot.extensions) == set(extension_names())
    registered = {c["name"] for c in sim.server.state.global_commands}
    assert {c.name for c in sim.bot.tree.get_commands()} == registered
    assert "config" in registered
