"""The simulator: one aiohttp server on 127.0.0.1 with the REST API and the gateway."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from simulator import invocations, payloads
from simulator.api import API_PREFIX, Fault, build_app, normalise
from simulator.api_channels import ChannelRoutes
from simulator.api_guilds import GuildRoutes
from simulator.api_interactions import InteractionRoutes
from simulator.gateway import Gateway
from simulator.reply import Reply, UnansweredInteraction, reply_for
from simulator.state import (
    APPLICATION_COMMAND,
    GUILD_FORUM,
    MANAGE_GUILD,
    SimGuild,
    SimInteraction,
    SimMessage,
    SimRole,
    SimState,
    SimUser,
)

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "simulated.bot.token"
COMMUNITY_CHANNELS = ("general", "checkins", "challenges", "reviews", "qa")
COMMUNITY_ROLES = ("moderator", "reviewer")
STAFF_ROLE = "staff"  # has Manage Server: what makes `sim.member(..., moderator=True)` one


class Simulator:
    """A simulated Discord. `await start()`, point discord.py at `api_url`, `await close()`."""

    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.state = SimState(token)
        self.gateway = Gateway(self.state, lambda: self.gateway_url)
        self.faults: list[Fault] = []
        # (method, route template, status) of every API call, newest last.
        self.calls: deque[tuple[str, str, int]] = deque(maxlen=10_000)
        # Called with (method, route template, status) once a call is handled, before its
        # answer leaves: the chaos test kills the bot here, between Discord's work and its
        # answer reaching the bot.
        self.after_call: Callable[[str, str, int], None] | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None
        routes = [
            *GuildRoutes(self).routes(),
            *ChannelRoutes(self).routes(),
            *InteractionRoutes(self).routes(),
            ("GET", "/gateway", self.gateway.handle),
        ]
        self.app = build_app(self, routes)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        log.debug("Simulator listening on %s", self.base_url)

    async def listen(self) -> str:
        """Serve the same Discord on one more port and return its API URL.

        With one port per bot process, `SimMessage.via_port` tells which process posted a
        message (the shard cluster test)."""
        assert self._runner is not None, "start() first"
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{API_PREFIX}"

    async def close(self) -> None:
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # --- the world ----------------------------------------------------------------------

    def add_community_guild(self, name: str = "AI Engineers") -> SimGuild:
        """A guild like the one Mentor is made for: the usual channels, a forum, two roles."""
        state = self.state
        owner = state.add_user(f"{name.lower().replace(' ', '-')}-owner")
        guild = state.add_guild(name, owner)
        for channel in COMMUNITY_CHANNELS:
            state.add_channel(guild, channel)
        state.add_channel(guild, "forum-reviews", GUILD_FORUM)
        for role in COMMUNITY_ROLES:
            state.add_role(guild, role)
        state.add_role(guild, STAFF_ROLE, MANAGE_GUILD)
        return guild

    def add_member(
        self, guild: SimGuild, name: str, *, roles: Sequence[str] = (), moderator: bool = False
    ) -> SimUser:
        user = self.state.add_user(name)
        role_ids = [guild.role(r) for r in roles]
        if moderator:
            role_ids.append(guild.role(STAFF_ROLE))
        self.state.add_member(guild, user, role_ids)
        return user

    async def create_role(
        self, guild: SimGuild, name: str, permissions: int = 0, *, position: int | None = None
    ) -> SimRole:
        """A server admin creates a role; the bot hears of it over the gateway."""
        role = self.state.add_role(guild, name, permissions)
        if position is not None:
            role.position = position
        data = {"guild_id": str(guild.id), "role": payloads.role(role)}
        await self.gateway.dispatch("GUILD_ROLE_CREATE", data, guild.id)
        return role

    async def update_role(
        self,
        guild: SimGuild,
        role: SimRole,
        *,
        permissions: int | None = None,
        position: int | None = None,
    ) -> None:
        """A server admin edits a role's permissions or position (GUILD_ROLE_UPDATE)."""
        if permissions is not None:
            role.permissions = permissions
        if position is not None:
            role.position = position
        data = {"guild_id": str(guild.id), "role": payloads.role(role)}
        await self.gateway.dispatch("GUILD_ROLE_UPDATE", data, guild.id)

    async def delete_channel(self, channel_id: int) -> None:
        """Someone deletes a channel or thread: it is gone, and the bot is told over the gateway."""
        channel = self.state.channels.pop(channel_id)
        for message in self.state.messages.values():
            if message.channel_id == channel_id:
                message.deleted = True
        guild = self.state.guild_of(channel)
        if guild is not None and channel_id in guild.channel_ids:
            guild.channel_ids.remove(channel_id)
            guild.channel_names = {n: c for n, c in guild.channel_names.items() if c != channel_id}
        data = payloads.channel(self.state, channel)
        if channel.is_thread:
            data = {k: data[k] for k in ("id", "type", "guild_id", "parent_id")}
        event = "THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE"
        await self.gateway.dispatch(event, data, channel.guild_id)

    # --- faults ---------------------------------------------------------------------------

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
        """The next `times` calls of this route answer `status` (429 with Discord's headers).

        `after_commit`: the call does its work first (the message is created) and the bot
        still gets the 5xx, as when Discord times out after the write.
        """
        if status not in (429, 500, 502, 503, 504):
            raise ValueError("fail_next supports 429 and 5xx")
        if after_commit and status == 429:
            raise ValueError("a 429 never does the work")
        template = route_template if route_template.startswith("/") else "/" + route_template
        fault = Fault(method.upper(), template, status, retry_after, times, after_commit)
        self.faults.append(fault)

    def take_fault(self, method: str, template: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, template):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def count_calls(self, method: str, route_template: str) -> int:
        """How many times the bot called this route (any status)."""
        wanted = normalise(route_template)
        return sum(1 for m, t, _ in self.calls if m == method.upper() and normalise(t) == wanted)

    async def drop_gateway(self) -> None:
        """Close the bot's websocket as a network failure would; it must RESUME."""
        await self.gateway.drop()

    # --- interactions ------------------------------------------------------------------------

    async def send_interaction(
        self,
        type_: int,
        user: SimUser,
        guild: SimGuild | None,
        channel_id: int,
        data: dict[str, Any],
        message: SimMessage | None = None,
    ) -> SimInteraction:
        """Record an interaction and dispatch INTERACTION_CREATE to the bot."""
        interaction = self.state.new_interaction(
            type_,
            user,
            guild.id if guild else None,
            channel_id,
            {},
            message_id=message.id if message else None,
        )
        message_data = (
            payloads.message(self.state, self.base_url, message) if message is not None else None
        )
        interaction.payload = payloads.interaction(self.state, interaction, data, message_data)
        await self.gateway.dispatch("INTERACTION_CREATE", interaction.payload, interaction.guild_id)
        return interaction

    async def slash(
        self,
        user: SimUser,
        command: str,
        *,
        guild: SimGuild | None = None,
        channel_id: int | None = None,
        within: float = 10.0,
        **options: Any,
    ) -> Reply:
        """Send /command to whichever bot is connected, in any process, and wait for its answer.

        Only what reaches the simulator over HTTP is seen, so this waits for the call that
        completes the answer (the response, or the edit or follow-up after a defer). The
        in-process `SimHarness.slash` also waits for the bot's handler to finish.
        """
        guild = guild or next(iter(self.state.guilds.values()))
        data = invocations.command_data(self.state, self.base_url, guild, command, options)
        channel = channel_id or guild.channel("general")
        interaction = await self.send_interaction(APPLICATION_COMMAND, user, guild, channel, data)
        try:
            await asyncio.wait_for(interaction.answered.wait(), within)
        except TimeoutError:
            raise UnansweredInteraction(f"no answer to /{command} within {within} s") from None
        return reply_for(self.state, interaction)
