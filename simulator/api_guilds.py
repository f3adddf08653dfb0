"""Login, application commands, guilds, members and roles, and attachment downloads."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.discord_limits import (
    COMMAND_DESCRIPTION,
    COMMAND_OPTIONS,
    COMMANDS_PER_SCOPE,
    INVALID_FORM_BODY,
    UNKNOWN_MEMBER,
)
from simulator import payloads
from simulator.api import API_PREFIX, ApiError, Handler, Host, json_response, no_content, read_body
from simulator.state import MANAGE_ROLES, SimGuild, SimMember, SimRole

# ApplicationCommandCreateRequest: name 1-32 (lower case), description up to 100, 25 options.
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


class GuildRoutes:
    def __init__(self, sim: Host) -> None:
        self.sim = sim
        self.state = sim.state

    def routes(self) -> list[tuple[str, str, Handler]]:
        p = API_PREFIX
        app_commands = f"{p}/applications/{{application_id}}/commands"
        guild_commands = f"{p}/applications/{{application_id}}/guilds/{{guild_id}}/commands"
        member_role = f"{p}/guilds/{{guild_id}}/members/{{user_id}}/roles/{{role_id}}"
        return [
            ("GET", f"{p}/gateway", self.gateway),
            ("GET", f"{p}/gateway/bot", self.gateway_bot),
            ("GET", f"{p}/users/@me", self.me),
            ("GET", f"{p}/users/{{user_id}}", self.user),
            ("GET", f"{p}/oauth2/applications/@me", self.application),
            ("GET", f"{p}/applications/@me", self.application),
            ("GET", app_commands, self.get_commands),
            ("PUT", app_commands, self.put_commands),
            ("GET", guild_commands, self.get_commands),
            ("PUT", guild_commands, self.put_commands),
            ("GET", f"{p}/guilds/{{guild_id}}", self.get_guild),
            ("GET", f"{p}/guilds/{{guild_id}}/channels", self.guild_channels),
            ("GET", f"{p}/guilds/{{guild_id}}/roles", self.roles),
            ("GET", f"{p}/guilds/{{guild_id}}/members", self.members),
            ("GET", f"{p}/guilds/{{guild_id}}/members/{{user_id}}", self.member),
            ("PUT", member_role, self.add_role),
            ("DELETE", member_role, self.remove_role),
            ("GET", "/attachments/{attachment_id}/{filename}", self.download),
        ]

    # --- login and the gateway URL ---------------------------------------------------------

    async def gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.sim.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        gateway = self.sim.gateway
        limit = {
            "total": 1000,
            "remaining": max(0, 1000 - gateway.identifies),
            "reset_after": 14_400_000,
            "max_concurrency": gateway.max_concurrency,
        }
        shards = gateway.shards_to_recommend()
        return json_response(
            {"url": self.sim.gateway_url, "shards": shards, "session_start_limit": limit}
        )

    async def me(self, request: web.Request) -> web.Response:
        return json_response(payloads.bot_user(self.state))

    async def user(self, request: web.Request) -> web.Response:
        user = self.state.users.get(_int(request.match_info["user_id"]))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return json_response(payloads.user(user))

    async def application(self, request: web.Request) -> web.Response:
        return json_response(payloads.application(self.state))

    # --- application commands ---------------------------------------------------------------

    def _check_application(self, request: web.Request) -> None:
        if _int(request.match_info["application_id"]) != self.state.application_id:
            raise ApiError(403, 50001, "Missing Access", record=True)

    async def get_commands(self, request: web.Request) -> web.Response:
        self._check_application(request)
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return json_response(self.state.global_commands)
        return json_response(self.state.guild_commands.get(_int(guild_id), []))

    async def put_commands(self, request: web.Request) -> web.Response:
        self._check_application(request)
        body, _ = await read_body(request)
        commands = body.get("_list", [])
        errors = _check_commands(commands)
        if errors:
            raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", errors, record=True)
        guild_id = request.match_info.get("guild_id")
        registered = [self._register(c, guild_id) for c in commands]
        if guild_id is None:
            self.state.global_commands = registered
        else:
            self.state.guild_commands[_int(guild_id)] = registered
        return json_response(registered)

    def _register(self, command: dict[str, Any], guild_id: str | None) -> dict[str, Any]:
        existing = {c["name"]: c["id"] for c in self.state.commands_for(_int(guild_id or "0"))}
        registered = {
            "id": existing.get(command["name"]) or str(self.state.ids.next()),
            "application_id": str(self.state.application_id),
            "version": str(self.state.ids.next()),
            "type": command.get("type", 1),
            "name": command["name"],
            "description": command.get("description", ""),
            "options": command.get("options", []),
            "default_member_permissions": command.get("default_member_permissions"),
            "dm_permission": command.get("dm_permission", True),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types", [0]),
            "nsfw": command.get("nsfw", False),
        }
        if guild_id is not None:
            registered["guild_id"] = guild_id
        return registered

    # --- guilds, members, roles ----------------------------------------------------------------

    def guild(self, request: web.Request) -> SimGuild:
        guild = self.state.guilds.get(_int(request.match_info["guild_id"]))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild

    def guild_member(self, request: web.Request, guild: SimGuild) -> SimMember:
        member = guild.members.get(_int(request.match_info["user_id"]))
        if member is None:
            raise ApiError(404, UNKNOWN_MEMBER, "Unknown Member")
        return member

    async def get_guild(self, request: web.Request) -> web.Response:
        data = payloads.guild_create(self.state, self.guild(request))
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
            data.pop(key, None)
        return json_response(data)

    async def guild_channels(self, request: web.Request) -> web.Response:
        guild = self.guild(request)
        return json_response(
            [payloads.channel(self.state, self.state.channels[c]) for c in guild.channel_ids]
        )

    async def roles(self, request: web.Request) -> web.Response:
        return json_response([payloads.role(r) for r in self.guild(request).roles.values()])

    async def members(self, request: web.Request) -> web.Response:
        guild = self.guild(request)
        limit = min(int(request.query.get("limit", 1)), 1000)
        after = int(request.query.get("after", 0))
        ids = sorted(u for u in guild.members if u > after)[:limit]
        return json_response([payloads.member(self.state, guild, u) for u in ids])

    async def member(self, request: web.Request) -> web.Response:
        guild = self.guild(request)
        member = self.guild_member(request, guild)
        return json_response(payloads.member(self.state, guild, member.user_id))

    def _role_change(self, request: web.Request) -> tuple[SimGuild, SimMember, SimRole]:
        guild = self.guild(request)
        member = self.guild_member(request, guild)
        role = guild.roles.get(_int(request.match_info["role_id"]))
        if role is None:
            raise ApiError(404, 10011, "Unknown Role")
        bot_id = self.state.bot_user.id
        # Discord: Manage Roles, and the role must sit below the bot's highest role.
        if not guild.permissions_of(bot_id) & MANAGE_ROLES or role.managed:
            raise ApiError(403, 50013, "Missing Permissions")
        if role.position >= guild.top_position(bot_id) or role.id == guild.id:
            raise ApiError(403, 50013, "Missing Permissions")
        return guild, member, role

    async def add_role(self, request: web.Request) -> web.Response:
        guild, member, role = self._role_change(request)
        if role.id not in member.role_ids:
            member.role_ids.append(role.id)
            await self._member_updated(guild, member)
        return no_content()

    async def remove_role(self, request: web.Request) -> web.Response:
        guild, member, role = self._role_change(request)
        if role.id in member.role_ids:
            member.role_ids.remove(role.id)
            await self._member_updated(guild, member)
        return no_content()

    async def _member_updated(self, guild: SimGuild, member: SimMember) -> None:
        data = payloads.member(self.state, guild, member.user_id)
        data["guild_id"] = str(guild.id)
        await self.sim.gateway.dispatch("GUILD_MEMBER_UPDATE", data, guild.id)

    # --- attachments ----------------------------------------------------------------------------

    async def download(self, request: web.Request) -> web.Response:
        attachment = self.state.attachments.get(_int(request.match_info["attachment_id"]))
        if attachment is None or attachment.filename != request.match_info["filename"]:
            raise web.HTTPNotFound()
        return web.Response(body=attachment.data, headers={"Content-Type": attachment.content_type})


def _check_commands(commands: list[dict[str, Any]]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if len(commands) > COMMANDS_PER_SCOPE:
        errors["_errors"] = [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Too many commands"}]
    for index, command in enumerate(commands):
        problems = []
        name = command.get("name", "")
        chat_input = command.get("type", 1) == 1
        # Slash commands: lowercase, no spaces. User and message commands (context menus)
        # may use any 1-32 characters, spaces and capitals included.
        valid = (
            COMMAND_NAME.match(name) and name == name.lower()
            if chat_input
            else 1 <= len(name) <= 32 and name == name.strip()
        )
        if not valid:
            problems.append(("name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid name"))
        if len(command.get("description", "")) > COMMAND_DESCRIPTION:
            problems.append(("description", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer"))
        if len(command.get("options") or []) > COMMAND_OPTIONS:
            problems.append(("options", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer"))
        for key, code, message in problems:
            node = errors.setdefault(str(index), {}).setdefault(key, {"_errors": []})
            node["_errors"].append({"code": code, "message": message})
    return errors


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
