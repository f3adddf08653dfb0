"""A real MentorBot connected to a simulator, driven like a member would drive it.

`SimHarness` is the `sim` object of the tests (tests/simfixture.py) and the engine of the
playground. It builds the bot with the composition root's own helpers (open_database,
build_services, build_llm_client, MentorBot), points discord.py at the simulator, starts the
bot, waits for READY and registers the command tree with the simulator, so slash commands
are sent exactly as Discord would send them from the registered schemas.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from bot.app import MentorBot
from bot.clock import FixedClock
from bot.config import Settings
from bot.discord_endpoint import discord_pointed_at
from bot.wiring import Services, build_llm_client, build_services, open_configured_database
from simulator import invocations, payloads
from simulator.reply import Reply, UnansweredInteraction, reply_for
from simulator.server import Simulator
from simulator.state import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    Problem,
    SimGuild,
    SimInteraction,
    SimMessage,
    SimRole,
    SimUser,
)

log = logging.getLogger(__name__)

# Names discord.py gives the tasks that run interaction handlers: while any is alive, the
# bot is still working on an interaction.
HANDLER_TASKS = (
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-modal-dispatch-",
    "discord-ui-dynamic-item-",
    "discord.py: on_interaction",
)
READY_TIMEOUT = 10.0
SEEN_TIMEOUT = 5.0
HANDLER_TIMEOUT = 15.0
GUILD_READY_TIMEOUT = 0.02  # discord.py waits this long for more GUILD_CREATEs before READY


class SimHarness:
    """The `sim` fixture: one guild, members made on demand, a real bot answering them."""

    def __init__(self, settings: Settings, clock: FixedClock, simulator: Simulator | None = None):
        self.settings = settings
        self.clock = clock
        self.server = simulator or Simulator()
        self._owns_server = simulator is None
        self.guild: SimGuild = None  # type: ignore[assignment]
        self.bot: MentorBot = None  # type: ignore[assignment]
        self.services: Services = None  # type: ignore[assignment]
        self._bot_task: asyncio.Task[None] | None = None
        self._members: dict[str, SimUser] = {}
        self._seen_ids: set[int] = set()
        self._redirect: contextlib.ExitStack | None = None

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    async def start(
        cls, settings: Settings, clock: FixedClock, simulator: Simulator | None = None
    ) -> SimHarness:
        harness = cls(settings, clock, simulator)
        try:
            await harness._start()
        except BaseException:
            await harness.close()
            raise
        return harness

    async def _start(self) -> None:
        if self._owns_server:
            await self.server.start()
        if not self.server.state.guilds:
            self.server.add_community_guild()
        self.guild = next(iter(self.server.state.guilds.values()))
        self._redirect = contextlib.ExitStack()
        self._redirect.enter_context(discord_pointed_at(self.server.api_url))
        await self.start_bot()
        await self.bot.tree.sync()

    async def start_bot(self) -> None:
        db = await open_configured_database(self.settings)
        self.services = build_services(
            self.settings, db, self.clock, build_llm_client(self.settings)
        )
        self.bot = MentorBot(
            self.services, start_scheduler=False, guild_ready_timeout=GUILD_READY_TIMEOUT
        )
        self.bot.add_listener(self._on_interaction, "on_interaction")
        self._bot_task = asyncio.create_task(self.bot.start(self.server.state.token))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        while not (self.bot.is_ready() and self.bot.get_guild(self.guild.id) is not None):
            if self._bot_task.done():
                self._bot_task.result()
                raise RuntimeError("the bot stopped before it was ready")
            if loop.time() > deadline:
                raise TimeoutError("the bot did not become ready against the simulator")
            await asyncio.sleep(0.002)

    async def stop_bot(self) -> None:
        if self.bot is None:
            return
        await self.bot.close()
        if self._bot_task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._bot_task, 5)
        if self.services.llm is not None:
            await self.services.llm.close()
        await self.services.db.close()

    async def restart_bot(self) -> None:
        """Close the bot and start a fresh one on the same database file and simulator."""
        await self.stop_bot()
        await self.start_bot()

    async def close(self) -> list[Problem]:
        """Stop everything; return what Discord would have refused (unknown routes, 4xx)."""
        try:
            if self.bot is not None:
                await self.stop_bot()
        finally:
            if self._owns_server:
                await self.server.close()
            if self._redirect is not None:
                self._redirect.close()
        return self.take_problems()

    async def add_cog(self, cog: commands.Cog) -> None:
        """Add a (test-only) cog to the running bot and register its commands."""
        await self.bot.add_cog(cog)
        await self.bot.tree.sync()

    async def api(
        self, method: str, path: str, json: Any = None, *, token: bool = True
    ) -> tuple[int, Any]:
        """Call the simulator's REST API directly, as a misbehaving client would."""
        headers = {"Authorization": f"Bot {self.server.state.token}"} if token else {}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.server.api_url + path, json=json, headers=headers) as r,
        ):
            body = await r.json(content_type=None) if r.content_length != 0 else None
            return r.status, body

    # --- members ------------------------------------------------------------------------------

    def member(self, name: str, *, moderator: bool = False, roles: Sequence[str] = ()) -> SimUser:
        """The member called `name`, created on first use with these roles."""
        if name not in self._members:
            self._members[name] = self.server.add_member(
                self.guild, name, roles=roles, moderator=moderator
            )
        return self._members[name]

    def member_roles(self, user: SimUser) -> set[int]:
        return set(self.guild.members[user.id].role_ids)

    @property
    def owner(self) -> SimUser:
        """The server's owner (Discord lets the owner do everything)."""
        return self.server.state.users[self.guild.owner_id]

    async def add_role(
        self, name: str, permissions: int = 0, *, position: int | None = None
    ) -> SimRole:
        """A server admin creates a role; returns once the bot's cache has it."""
        role = await self.server.create_role(self.guild, name, permissions, position=position)
        await self._bot_sees_role(role)
        return role

    async def update_role(
        self, role: SimRole, *, permissions: int | None = None, position: int | None = None
    ) -> None:
        """A server admin edits a role; returns once the bot's cache shows the change."""
        await self.server.update_role(self.guild, role, permissions=permissions, position=position)
        await self._bot_sees_role(role)

    async def _bot_sees_role(self, role: SimRole) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEEN_TIMEOUT
        while True:
            guild = self.bot.get_guild(self.guild.id)
            cached = guild.get_role(role.id) if guild is not None else None
            if (
                cached is not None
                and cached.permissions.value == role.permissions
                and cached.position == role.position
            ):
                return
            if loop.time() > deadline:
                raise TimeoutError(f"the bot did not see role {role.name!r} change")
            await asyncio.sleep(0.001)

    def give_role(self, user: SimUser, role_id: int) -> None:
        """A role given by someone else (not the bot), e.g. by a server admin."""
        roles = self.guild.members[user.id].role_ids
        if role_id not in roles:
            roles.append(role_id)

    async def delete_channel(self, channel_id: int) -> None:
        """A moderator deletes a channel or thread; returns once the bot has heard of it."""
        await self.server.delete_channel(channel_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEEN_TIMEOUT
        guild = self.bot.get_guild(self.guild.id)
        while guild is not None and guild.get_channel_or_thread(channel_id) is not None:
            if loop.time() > deadline:
                raise TimeoutError(f"the bot still sees channel {channel_id}")
            await asyncio.sleep(0.001)

    def close_dms(self, user: SimUser) -> None:
        """From now on DMs to `user` fail with 50007, as with "allow DMs" turned off."""
        user.dms_closed = True

    # --- what the bot did -------------------------------------------------------------------

    def messages(self, channel_id: int) -> list[SimMessage]:
        return sorted(self.server.state.channel_messages(channel_id), key=lambda m: m.id)

    def threads(self, parent_channel_id: int) -> list[dict[str, Any]]:
        state = self.server.state
        return [
            payloads.channel(state, c)
            for c in sorted(state.channels.values(), key=lambda c: c.id)
            if c.is_thread and c.parent_id == parent_channel_id
        ]

    def dms(self, user: SimUser) -> list[SimMessage]:
        state = self.server.state
        channel = next(
            (c for c in state.channels.values() if c.type == 1 and c.recipient_ids == [user.id]),
            None,
        )
        return [] if channel is None else self.messages(channel.id)

    def take_problems(self) -> list[Problem]:
        """What Discord would have refused so far; clears the list (so teardown won't fail)."""
        problems = list(self.server.state.problems)
        self.server.state.problems.clear()
        return problems

    # --- time ----------------------------------------------------------------------------------

    async def run_scheduler(self) -> None:
        await self.services.scheduler.run_once()

    async def advance(self, **delta: float) -> None:
        """Move the clock (days=1, hours=3, ...) and run one scheduler tick."""
        self.clock.advance(**delta)
        await self.run_scheduler()

    def age_interactions(self, seconds: float) -> None:
        """Make every interaction `seconds` older (to hit the 3 s and 15 min deadlines)."""
        for interaction in self.server.state.interactions.values():
            interaction.created -= seconds

    # --- faults -----------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        route_template: str,
        status: int = 500,
        retry_after: float = 0.05,
        times: int = 1,
        *,
        after_commit: bool = False,
    ) -> None:
        self.server.fail_next(
            method, route_template, status, retry_after, times, after_commit=after_commit
        )

    async def drop_gateway(self) -> None:
        """Drop the websocket and wait until the bot has resumed its session."""
        await self.server.drop_gateway()
        await asyncio.wait_for(self.server.gateway.resumed.wait(), READY_TIMEOUT)

    async def expire_session(self) -> None:
        """Drop the connection and forget the session: the bot must IDENTIFY again."""
        identified = self.server.gateway.identifies

        async def identify_now(shard_id: int | None, *, initial: bool = False) -> None:
            """Skip the 5 s discord.py waits before a repeated IDENTIFY (Discord's limit)."""

        self.bot.before_identify_hook = identify_now  # type: ignore[method-assign]
        try:
            self.server.gateway.sessions.clear()
            await self.server.drop_gateway()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + READY_TIMEOUT
            while self.server.gateway.identifies == identified or not self.bot.get_guild(
                self.guild.id
            ):
                if loop.time() > deadline:
                    raise TimeoutError("the bot did not identify again")
                await asyncio.sleep(0.002)
        finally:
            del self.bot.before_identify_hook

    # --- interactions ----------------------------------------------------------------------------

    def _channel(self, in_channel: int | str | None) -> int:
        if in_channel is None:
            return self.guild.channel("general")
        return self.guild.channel(in_channel) if isinstance(in_channel, str) else in_channel

    async def slash(
        self, user: SimUser, command: str, *, in_channel: int | str | None = None, **options: Any
    ) -> Reply:
        """Run `/command` as `user` (options by name) and return what the bot answered."""
        data = invocations.command_data(
            self.server.state, self.server.base_url, self.guild, command, options
        )
        interaction = await self.server.send_interaction(
            APPLICATION_COMMAND, user, self.guild, self._channel(in_channel), data
        )
        return await self.wait_for_answer(interaction)

    async def autocomplete(
        self,
        user: SimUser,
        command: str,
        *,
        focused: str,
        in_channel: int | str | None = None,
        **options: Any,
    ) -> list[dict[str, Any]]:
        """Type into option `focused`; return the choices the bot offered."""
        data = invocations.command_data(
            self.server.state, self.server.base_url, self.guild, command, options, focused=focused
        )
        interaction = await self.server.send_interaction(
            AUTOCOMPLETE, user, self.guild, self._channel(in_channel), data
        )
        reply = await self.wait_for_answer(interaction)
        return reply.choices or []

    async def click(
        self,
        user: SimUser,
        message: SimMessage,
        *,
        label: str | None = None,
        custom_id: str | None = None,
    ) -> Reply:
        if (label is None) == (custom_id is None):
            raise ValueError("click needs exactly one of label= or custom_id=")
        data = invocations.button_data(message, custom_id=custom_id, label=label)
        return await self._component(user, message, data)

    async def select(
        self, user: SimUser, message: SimMessage, *, custom_id: str, values: list[Any]
    ) -> Reply:
        data = invocations.select_data(
            self.server.state, self.guild, message, custom_id, list(values)
        )
        return await self._component(user, message, data)

    async def _component(self, user: SimUser, message: SimMessage, data: dict) -> Reply:
        interaction = await self.server.send_interaction(
            MESSAGE_COMPONENT, user, self.guild, message.channel_id, data, message
        )
        return await self.wait_for_answer(interaction)

    async def submit_modal(self, user: SimUser, reply: Reply, answers: dict[str, Any]) -> Reply:
        """Fill the modal the bot opened in `reply` (fields by custom id or label) and send it.

        Text inputs take a string; a select menu inside the modal takes a list of values.
        """
        if reply.modal is None:
            raise ValueError("that reply did not open a modal")
        data = invocations.modal_submit_data(reply.modal, answers)
        origin = reply.interaction
        message = self.server.state.messages.get(origin.message_id or 0)
        interaction = await self.server.send_interaction(
            MODAL_SUBMIT, user, self.guild, origin.channel_id, data, message
        )
        return await self.wait_for_answer(interaction)

    async def wait_for_answer(
        self, interaction: SimInteraction, *, require_answer: bool = True
    ) -> Reply:
        """Wait until the bot has finished handling `interaction`, then read its answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEEN_TIMEOUT
        while not (interaction.acknowledged.is_set() or self._seen(interaction)):
            if loop.time() > deadline:
                break
            await asyncio.sleep(0.001)
        await self._handlers_done()
        if interaction.response_type in (5, 6) and not interaction.completed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(interaction.answered.wait(), 0.05)
        if require_answer and interaction.response_type is None:
            errors = [p for p in self.server.state.problems if str(interaction.id) in p.path]
            raise UnansweredInteraction(
                f"the bot never answered interaction {interaction.id} "
                f"(Discord shows 'The application did not respond'); refused calls: {errors}"
            )
        return reply_for(self.server.state, interaction)

    def _seen(self, interaction: SimInteraction) -> bool:
        """The bot parsed the interaction (so its handler task exists or has run)."""
        return interaction.id in self._seen_ids

    async def _on_interaction(self, interaction: discord.Interaction) -> None:
        self._seen_ids.add(interaction.id)

    async def _handlers_done(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANDLER_TIMEOUT
        current = asyncio.current_task()
        while True:
            busy = [
                t
                for t in asyncio.all_tasks()
                if t is not current and not t.done() and t.get_name().startswith(HANDLER_TASKS)
            ]
            if not busy:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"interaction handlers still running: {busy}")
            await asyncio.wait(busy, timeout=remaining)
