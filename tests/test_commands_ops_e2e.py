"""Through the simulator: one log line and metrics per command, and a graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import re

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.errors import DomainError
from bot.ui.base import SHUTTING_DOWN, MentorView
from bot.ui.replies import reply
from simulator.harness import SimHarness
from tests.sim_wire import answer, send_click, send_slash


class OpsProbe(commands.Cog):
    """Commands that finish slowly, fail on purpose, or refuse: for this file only."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.finished = False

    @app_commands.command(name="slowpoke", description="Answers once released")
    async def slowpoke(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        self.started.set()
        await self.release.wait()
        self.finished = True
        await reply(interaction, "finished the slow work")

    @app_commands.command(name="boom", description="A bug")
    async def boom(self, interaction: discord.Interaction) -> None:
        raise RuntimeError("a bug in a command")

    @app_commands.command(name="refuse", description="A broken rule")
    async def refuse(self, interaction: discord.Interaction) -> None:
        raise DomainError("That is not allowed.")

    @app_commands.command(name="panel", description="A view with one button")
    async def panel(self, interaction: discord.Interaction) -> None:
        view = MentorView()
        button = discord.ui.Button(label="Press")

        async def pressed(click: discord.Interaction) -> None:
            await click.response.send_message("pressed", ephemeral=True)

        button.callback = pressed
        view.add_item(button)
        await reply(interaction, "a panel", view=view)


@pytest.fixture
async def probe(sim: SimHarness) -> OpsProbe:
    cog = OpsProbe()
    await sim.add_cog(cog)
    return cog


def command_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "bot.commands"]


async def test_each_command_is_one_info_line_and_counted(
    sim: SimHarness, probe: OpsProbe, caplog: pytest.LogCaptureFixture
) -> None:
    alice = sim.member("alice")
    with caplog.at_level(logging.INFO, logger="bot.commands"):
        await sim.slash(alice, "privacy export")
        refused = await sim.slash(alice, "refuse")
        failed = await sim.slash(alice, "boom")
    sim.take_problems()

    lines = command_lines(caplog)
    assert [(r.command, r.outcome) for r in lines] == [
        ("privacy export", "ok"),
        ("refuse", "refused"),
        ("boom", "error"),
    ]
    for record in lines:
        assert record.levelno == logging.INFO
        assert record.guild_id == sim.guild.id
        assert isinstance(record.duration_ms, int) and record.duration_ms >= 0
        assert re.fullmatch(r"[0-9A-F]{6}", record.ref)
        assert f"guild={sim.guild.id}" in record.getMessage()
        assert str(alice.id) not in record.getMessage()
    assert refused.content == "That is not allowed."
    # The member's reference is the one in the log line, so support can find it.
    assert f"(ref {lines[2].ref})" in failed.content

    body = sim.services.metrics.render().decode()
    assert 'mentor_commands_total{command="privacy export",outcome="ok"} 1.0' in body
    assert 'mentor_commands_total{command="refuse",outcome="refused"} 1.0' in body
    assert 'mentor_commands_total{command="boom",outcome="error"} 1.0' in body
    assert 'mentor_command_duration_seconds_count{command="boom"} 1.0' in body


async def test_shutdown_refuses_new_work_and_lets_running_commands_finish(
    sim: SimHarness, probe: OpsProbe, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob = sim.member("alice"), sim.member("bob")
    panel = await sim.slash(bob, "panel")
    slow = await send_slash(sim.server, sim.guild, alice, "slowpoke")
    await asyncio.wait_for(probe.started.wait(), 5)
    assert sim.services.metrics.probes.interactions_in_flight() == 1

    stopping = asyncio.create_task(sim.bot.shutdown())
    await asyncio.sleep(0.05)
    assert not stopping.done(), "shutdown must wait for the running command"

    caplog.clear()  # only the lines of what happens during the shutdown
    with caplog.at_level(logging.INFO, logger="bot.commands"):
        command = await send_slash(sim.server, sim.guild, bob, "privacy export")
        late_command = await answer(sim.server, command)
        click = await send_click(sim.server, sim.guild, bob, panel.message, "Press")
        late_click = await answer(sim.server, click)
    assert late_command.content == SHUTTING_DOWN and late_command.ephemeral
    assert late_click.content == SHUTTING_DOWN and late_click.ephemeral
    assert [(r.command, r.outcome) for r in command_lines(caplog)] == [
        ("privacy export", "unavailable")
    ]
    assert not stopping.done()

    probe.release.set()
    finished = await answer(sim.server, slow)
    await asyncio.wait_for(stopping, 5)
    assert finished.content == "finished the slow work" and probe.finished
    assert sim.bot.is_closed()
    assert not sim.services.scheduler.running


async def test_shutdown_gives_up_on_a_command_after_the_grace_period(
    sim: SimHarness, probe: OpsProbe, caplog: pytest.LogCaptureFixture
) -> None:
    sim.settings.shutdown_grace_seconds = 0.3
    await send_slash(sim.server, sim.guild, sim.member("alice"), "slowpoke")
    await asyncio.wait_for(probe.started.wait(), 5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        await asyncio.wait_for(sim.bot.shutdown(), 5)
    assert loop.time() - started < 2
    assert any("still running after the grace period" in r.getMessage() for r in caplog.records)
    assert not probe.finished
    probe.release.set()
