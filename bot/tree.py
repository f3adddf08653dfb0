"""The command tree: owns the error handler, the shutdown gate and the per-command log line."""

from __future__ import annotations

import contextlib
import logging
import time

import discord
from discord import app_commands

from bot.metrics import Metrics
from bot.shutdown import accepting
from bot.ui.base import SHUTTING_DOWN
from bot.ui.errors import new_ref, report_error
from bot.ui.replies import reply

log = logging.getLogger("bot.commands")


class MentorTree(app_commands.CommandTree):
    metrics: Metrics | None = None  # the bot's, set when it builds its tree

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Refuse new work politely once the bot has begun shutting down."""
        if accepting(self.client):
            return True
        interaction.extras["outcome"] = "unavailable"
        with contextlib.suppress(discord.HTTPException):
            if interaction.type is discord.InteractionType.autocomplete:
                await interaction.response.autocomplete([])
            else:
                await reply(interaction, SHUTTING_DOWN)
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)

    async def _call(self, interaction: discord.Interaction) -> None:
        """Run one command as discord.py does, then log and count it once."""
        if interaction.type is discord.InteractionType.autocomplete:
            await super()._call(interaction)
            return
        interaction.extras.setdefault("ref", new_ref())
        started = time.perf_counter()
        try:
            await super()._call(interaction)
        except app_commands.AppCommandError as error:
            # What discord.py's own task wrapper does with an error raised this early
            # (unknown command, failing global check).
            await self._dispatch_error(interaction, error)
        except BaseException:
            interaction.extras.setdefault("outcome", "error")
            raise
        finally:
            self._record(interaction, time.perf_counter() - started)

    def _record(self, interaction: discord.Interaction, seconds: float) -> None:
        name = command_name(interaction)
        outcome = interaction.extras.get("outcome", "ok")
        ref = interaction.extras["ref"]
        duration_ms = round(seconds * 1000)
        metrics = self.metrics
        if metrics is not None:
            metrics.commands.labels(command=name, outcome=outcome).inc()
            metrics.command_seconds.labels(command=name).observe(seconds)
        log.info(
            "command /%s guild=%s outcome=%s duration_ms=%d ref=%s",
            name,
            interaction.guild_id,
            outcome,
            duration_ms,
            ref,
            extra={
                "command": name,
                "guild_id": interaction.guild_id,
                "outcome": outcome,
                "duration_ms": duration_ms,
                "ref": ref,
            },
        )


def command_name(interaction: discord.Interaction) -> str:
    """The full name ("roadmap start"), or "unknown" for a command this bot does not have.

    Only registered names are used, so metrics labels stay few.
    """
    command = interaction.command
    return command.qualified_name if command is not None else "unknown"
