"""The Discord client: loads the cogs, starts the scheduler, pings nobody by default."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import pkgutil
from typing import Any, cast

import discord
from discord.ext import commands

import cogs
from bot.delivery import Delivery
from bot.identify import IdentifyPacer, no_cluster
from bot.parts import Parts, Shared
from bot.services.command_sync import payload_hash
from bot.shards import ShardState, describe_shard_ids
from bot.shutdown import drain_interactions, interactions_in_flight
from bot.tree import MentorTree
from bot.ui.confirm import Confirmations, ConfirmButton
from bot.ui.forms import AgainAfterRestart, FormRouter
from bot.ui.pager import PageButton, Pagers
from bot.wiring import Services

log = logging.getLogger(__name__)


def bot_intents() -> discord.Intents:
    """Only the guilds intent: slash commands, buttons and modals need nothing privileged."""
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


def extension_names() -> list[str]:
    """Every module in `cogs/` that is not `_private` (a cog package counts once)."""
    return sorted(
        f"{cogs.__name__}.{info.name}"
        for info in pkgutil.iter_modules(cogs.__path__)
        if not info.name.startswith("_")
    )


class MentorBot(commands.AutoShardedBot):
    """The bot, over this process's shards (SHARD_IDS of SHARD_COUNT, by default all of
    Discord's recommended count). All state is in the database, keyed by guild."""

    def __init__(
        self,
        services: Services,
        *,
        start_scheduler: bool = True,
        sync_commands: bool = False,
        freeze_gc: bool = False,
        **options: Any,
    ) -> None:
        options.setdefault("intents", bot_intents())
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        options.setdefault("shard_count", services.settings.shard_count)
        options.setdefault("shard_ids", services.settings.shard_id_list)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            tree_cls=MentorTree,
            **options,
        )
        self.services = services
        self.tree.metrics = services.metrics
        self.delivery = Delivery(
            self, services.scheduled_posts, services.guild_settings, services.clock
        )
        self.forms = FormRouter()
        self.confirmations = Confirmations()
        self.pagers = Pagers()
        self.shared = Shared()
        self.start_scheduler = start_scheduler
        self.sync_commands = sync_commands
        self._freeze_gc = freeze_gc  # the long-running process only: see on_ready
        alone = services.settings.shard_scope.everything
        self.identify_pacer = IdentifyPacer(
            self._max_concurrency, no_cluster if alone else services.db.exclusively
        )
        # False once shutdown begins: the tree and views then refuse new work politely.
        self.accepting_interactions = True
        self._ready_shards: set[int] = set()
        self._logged_in = False
        services.metrics.watch(
            gateway_latency_seconds=lambda: self.latency,
            guilds=lambda: len(self.guilds),
            shard_latencies=lambda: {s.id: s.latency_seconds for s in self.shard_states()},
        )

    async def setup_hook(self) -> None:
        self._logged_in = True
        self.add_dynamic_items(ConfirmButton, PageButton, AgainAfterRestart)
        for name in extension_names():
            await self.load_extension(name)
        log.info("Loaded %d extensions", len(self.extensions))
        if self.sync_commands:
            async with self.services.command_sync.one_at_a_time():
                await self.sync_if_changed(self.services.settings.dev_guild_id)
        if self.start_scheduler:
            self.services.scheduler.start()

    def add_parts(self, parts: Parts) -> None:
        """Register what a capability brings (its cog's `cog_load`); see bot/parts.py."""
        self.add_dynamic_items(*parts.components)
        self.forms.add(*parts.forms)
        for confirmation in parts.confirmations:
            self.confirmations.add(confirmation)
        for name, loader in parts.pagers.items():
            self.pagers.add(name, loader)
        for name, job in parts.jobs.items():
            self.services.scheduler.add_job(name, job)
        for name, job in parts.cluster_jobs.items():
            self.services.scheduler.add_job(name, job, cluster=True)
        for kind, part in parts.shared.items():
            self.shared.add(kind, part)

    def remove_parts(self, parts: Parts) -> None:
        """Undo `add_parts` (its cog's `cog_unload`)."""
        self.remove_dynamic_items(*parts.components)
        self.forms.remove(*parts.forms)
        for confirmation in parts.confirmations:
            self.confirmations.remove(confirmation.name)
        for name in parts.pagers:
            self.pagers.remove(name)
        for name in (*parts.jobs, *parts.cluster_jobs):
            self.services.scheduler.remove_job(name)
        for kind in parts.shared:
            self.shared.remove(kind)

    async def shutdown(self, give_up: asyncio.Event | None = None) -> None:
        """Stop taking new work, let running commands and the scheduler's tick finish
        (within SHUTDOWN_GRACE_SECONDS, or until `give_up` is set), then close."""
        grace = self.services.settings.shutdown_grace_seconds
        self.accepting_interactions = False
        running = interactions_in_flight() or 0
        log.info(
            "Shutting down: refusing new commands; %d running, waiting up to %.0f s",
            running,
            grace,
        )
        left, _ = await asyncio.gather(
            drain_interactions(grace, give_up), self.services.scheduler.stop(grace)
        )
        if left:
            log.warning("%d interaction(s) still running after the grace period; closing", left)
        await self.close()

    async def sync_if_changed(self, guild_id: int | None) -> bool:
        """Register the slash commands when they differ from what was last registered.

        `guild_id` syncs to one server (instant, for development); None syncs globally.
        """
        guild = discord.Object(id=guild_id) if guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        scope = f"guild:{guild_id}" if guild_id else "global"
        fingerprint = payload_hash(payload)
        if not await self.services.command_sync.needs_sync(scope, fingerprint):
            return False
        await self.tree.sync(guild=guild)
        await self.services.command_sync.record(scope, fingerprint)
        log.info("Registered %d slash commands (%s)", len(payload), scope)
        return True

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Identify at Discord's pace per max_concurrency bucket, across the cluster (see
        bot/identify.py), not discord.py's 5 s before every shard after the first."""
        await self.identify_pacer.wait_turn(shard_id or 0)

    async def _max_concurrency(self) -> int:
        return (await self.fetch_session_start_limits()).max_concurrency

    async def close(self) -> None:
        self.accepting_interactions = False
        await self.identify_pacer.close()
        await self.services.scheduler.stop(self.services.settings.shutdown_grace_seconds)
        if not self._logged_in:
            # Refused before it logged in (a cluster conflict): discord.py's sharded close
            # needs what login sets up, and there is no connection to close but HTTP's.
            await self.http.close()
            return
        await super().close()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Modal submissions go to their form by custom_id (see bot/ui/forms.py)."""
        await self.forms.dispatch(interaction)

    async def on_shard_ready(self, shard_id: int) -> None:
        self._ready_shards.add(shard_id)
        log.info("Shard %d of %s is ready", shard_id, self.shard_count)

    def shard_states(self) -> list[ShardState]:
        """Each of this process's shards: connected, ready (its servers loaded), latency."""
        states = []
        for shard_id, info in sorted(self.shards.items()):
            latency = info.latency
            states.append(
                ShardState(
                    shard_id,
                    connected=not info.is_closed(),
                    ready=shard_id in self._ready_shards,
                    latency_seconds=None if math.isnan(latency) or math.isinf(latency) else latency,
                )
            )
        return states

    def shard_labels(self) -> dict[str, str]:
        """How metrics and health name this process: its shard ids and the shard count."""
        if self.shard_count is None:  # before Discord said how many
            return {"shards": "all", "shard_count": "unknown"}
        ids = tuple(sorted(self.shard_ids or range(self.shard_count)))
        return {"shards": describe_shard_ids(ids), "shard_count": str(self.shard_count)}

    async def on_ready(self) -> None:
        log.info("Connected as %s to %d servers", self.user, len(self.guilds))
        if self._freeze_gc:
            # Modules, cogs and the servers' caches live as long as the process: move them
            # out of the garbage collector's way, so a full collection scans only what came
            # after (on a 2-core machine, 60-90 ms pauses in the middle of answers otherwise).
            gc.collect()
            gc.freeze()
            self._freeze_gc = False


def bot_of(interaction: discord.Interaction) -> MentorBot:
    """The bot an interaction came to: always a MentorBot here."""
    return cast(MentorBot, interaction.client)
