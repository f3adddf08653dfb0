"""Channel routes: messages (embeds, components, files), threads, forum posts and DMs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.discord_limits import (
    ARCHIVE_AFTER_DAY,
    INVALID_FORM_BODY,
    THREAD_ALREADY_CREATED,
    THREAD_ARCHIVED,
)
from simulator import payloads, validation
from simulator.api import (
    API_PREFIX,
    ApiError,
    Handler,
    Host,
    Upload,
    json_response,
    no_content,
    read_body,
    rejected,
)
from simulator.state import (
    DM,
    EPHEMERAL,
    GUILD_FORUM,
    LOADING,
    SimAttachment,
    SimChannel,
    SimMessage,
)

KEPT_FLAGS = EPHEMERAL | LOADING  # flags set at creation that an edit cannot change
USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


def check_message(payload: dict[str, Any], uploads: list[Upload], *, ephemeral: bool) -> None:
    errors = validation.check_message(payload, ephemeral_allowed=ephemeral)
    if errors:
        raise rejected(errors.body())


def check_not_empty(payload: dict[str, Any], uploads: list[Upload]) -> None:
    if validation.is_empty_message(payload, len(uploads)):
        raise ApiError(400, 50006, "Cannot send an empty message", record=True)


def _attachments(
    sim: Host,
    payload: dict[str, Any],
    uploads: list[Upload],
    existing: list[SimAttachment],
) -> list[SimAttachment]:
    """Discord's rule: `attachments` lists what to keep (by id) and new uploads (by index)."""
    described = {str(a.get("id")): a for a in payload.get("attachments") or []}
    if "attachments" in payload:
        kept = [a for a in existing if str(a.id) in described]
    else:
        kept = list(existing)
    for index, upload in enumerate(uploads):
        meta = described.get(str(index), {})
        attachment = sim.state.add_attachment(
            meta.get("filename") or upload.filename, upload.data, upload.content_type
        )
        attachment.description = meta.get("description")
        kept.append(attachment)
    return kept


def apply_fields(
    sim: Host, message: SimMessage, payload: dict[str, Any], uploads: list[Upload]
) -> None:
    if "content" in payload:
        message.content = payload["content"] or ""
    if "embeds" in payload:
        message.embeds = payload["embeds"] or []
    if "components" in payload:
        message.components = payload["components"] or []
    if "attachments" in payload or uploads:
        message.attachments = _attachments(sim, payload, uploads, message.attachments)


def create_message(
    sim: Host,
    channel: SimChannel,
    author_id: int,
    payload: dict[str, Any],
    uploads: list[Upload],
    **fields: Any,
) -> SimMessage:
    flags = (payload.get("flags") or 0) | fields.pop("flags", 0)
    message = sim.state.add_message(channel.id, author_id, flags=flags, **fields)
    apply_fields(sim, message, payload, uploads)
    record_pings(message, payload)
    return message


def record_pings(message: SimMessage, payload: dict[str, Any]) -> None:
    """Who Discord would notify: mentions in the content that `allowed_mentions` lets through.

    No `allowed_mentions` at all means everything mentioned is pinged, as on Discord.
    """
    allowed = payload.get("allowed_mentions")
    content = message.content
    users = {int(u) for u in USER_MENTION.findall(content)}
    roles = {int(r) for r in ROLE_MENTION.findall(content)}
    everyone = "@everyone" in content or "@here" in content
    if allowed is None:
        message.pinged_user_ids, message.pinged_role_ids = users, roles
        message.pinged_everyone = everyone
        return
    parse = set(allowed.get("parse") or [])
    listed_users = {int(u) for u in allowed.get("users") or []}
    listed_roles = {int(r) for r in allowed.get("roles") or []}
    message.pinged_user_ids = users if "users" in parse else users & listed_users
    message.pinged_role_ids = roles if "roles" in parse else roles & listed_roles
    message.pinged_everyone = everyone and "everyone" in parse


def edit_message(
    sim: Host, message: SimMessage, payload: dict[str, Any], uploads: list[Upload]
) -> None:
    """Apply an edit. Filling a deferred ("thinking") response is its first real post."""
    was_loading = message.loading
    apply_fields(sim, message, payload, uploads)
    if was_loading:
        record_pings(message, payload)
    if "flags" in payload and payload["flags"] is not None:
        message.flags = (message.flags & KEPT_FLAGS) | (payload["flags"] & ~KEPT_FLAGS)
    message.flags &= ~LOADING
    message.edited_at = datetime.now(UTC)
    message.edits += 1


class ChannelRoutes:
    def __init__(self, sim: Host) -> None:
        self.sim = sim
        self.state = sim.state

    def routes(self) -> list[tuple[str, str, Handler]]:
        p = API_PREFIX
        return [
            ("GET", f"{p}/channels/{{channel_id}}", self.get_channel),
            ("PATCH", f"{p}/channels/{{channel_id}}", self.edit_channel),
            ("GET", f"{p}/channels/{{channel_id}}/messages", self.history),
            ("POST", f"{p}/channels/{{channel_id}}/messages", self.send),
            ("GET", f"{p}/channels/{{channel_id}}/messages/{{message_id}}", self.get_message),
            ("PATCH", f"{p}/channels/{{channel_id}}/messages/{{message_id}}", self.edit),
            ("DELETE", f"{p}/channels/{{channel_id}}/messages/{{message_id}}", self.delete),
            (
                "POST",
                f"{p}/channels/{{channel_id}}/messages/{{message_id}}/threads",
                self.thread_from_message,
            ),
            ("POST", f"{p}/channels/{{channel_id}}/threads", self.thread_without_message),
            ("PUT", f"{p}/channels/{{channel_id}}/thread-members/{{user_id}}", self.join_thread),
            (
                "DELETE",
                f"{p}/channels/{{channel_id}}/thread-members/{{user_id}}",
                self.leave_thread,
            ),
            ("POST", f"{p}/users/@me/channels", self.open_dm),
        ]

    # --- lookups ---------------------------------------------------------------------

    def channel(self, request: web.Request) -> SimChannel:
        try:
            return self.state.channels[int(request.match_info["channel_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, 10003, "Unknown Channel") from None

    def message(self, request: web.Request, channel: SimChannel) -> SimMessage:
        try:
            message = self.state.messages[int(request.match_info["message_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, 10008, "Unknown Message") from None
        if message.channel_id != channel.id or message.deleted or message.ephemeral:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def render(self, message: SimMessage) -> dict[str, Any]:
        return payloads.message(self.state, self.sim.base_url, message)

    # --- channels ----------------------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(payloads.channel(self.state, self.channel(request)))

    async def edit_channel(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        payload, _ = await read_body(request)
        # Discord: an archived thread takes no other change unless it is unarchived with it.
        frozen = channel.is_thread and channel.archived and payload.get("archived") is not False
        if frozen and set(payload) - {"archived", "locked"}:
            raise ApiError(400, THREAD_ARCHIVED, "Thread is archived")
        if "name" in payload:
            errors = validation.check_thread_name(payload["name"])
            if errors:
                raise rejected(errors.body())
            channel.name = payload["name"]
        for key in ("archived", "locked", "auto_archive_duration"):
            if key in payload and channel.is_thread:
                setattr(channel, key, payload[key])
        if "topic" in payload and not channel.is_thread:
            channel.topic = payload["topic"]
        data = payloads.channel(self.state, channel)
        event = "THREAD_UPDATE" if channel.is_thread else "CHANNEL_UPDATE"
        await self.sim.gateway.dispatch(event, data, channel.guild_id)
        return json_response(data)

    # --- messages ----------------------------------------------------------------------

    async def history(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        limit = min(int(request.query.get("limit", 50)), 100)
        messages = sorted(self.state.channel_messages(channel.id), key=lambda m: -m.id)
        if "before" in request.query:
            messages = [m for m in messages if m.id < int(request.query["before"])]
        if "after" in request.query:
            messages = [m for m in messages if m.id > int(request.query["after"])]
        return json_response([self.render(m) for m in messages[:limit]])

    async def send(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        payload, uploads = await read_body(request)
        check_message(payload, uploads, ephemeral=False)
        check_not_empty(payload, uploads)
        self.check_can_post(channel)
        nonce = None if payload.get("nonce") is None else str(payload["nonce"])
        author_id = self.state.bot_user.id
        if nonce is not None and payload.get("enforce_nonce"):
            earlier = self.state.message_for_nonce(author_id, nonce)
            if earlier is not None:
                # Discord's answer to a repeated nonce: the first message, nothing new.
                self.state.nonce_replays += 1
                if earlier.deleted:
                    raise ApiError(404, 10008, "Unknown Message")
                return json_response(dict(self.render(earlier), nonce=nonce))
        message = create_message(self.sim, channel, author_id, payload, uploads, nonce=nonce)
        message.via_port = request.url.port
        self.state.remember_nonce(message)
        data = self.render(message)
        if nonce is not None:
            data["nonce"] = nonce  # echoed on creation only: a fetch never shows it
        await self.sim.gateway.dispatch("MESSAGE_CREATE", data, channel.guild_id)
        return json_response(data)

    def check_can_post(self, channel: SimChannel) -> None:
        if channel.type == GUILD_FORUM:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel", record=True)
        if channel.type == DM:
            recipient = self.state.users[channel.recipient_ids[0]]
            if recipient.dms_closed:
                raise ApiError(403, 50007, "Cannot send messages to this user")
        if channel.is_thread and channel.locked:
            raise ApiError(403, 50083, "Thread is locked")
        if channel.is_thread and channel.archived:
            channel.archived = False  # posting in an archived (unlocked) thread reopens it

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        return json_response(self.render(self.message(request, channel)))

    async def edit(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        message = self.message(request, channel)
        if message.author_id != self.state.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        payload, uploads = await read_body(request)
        check_message(payload, uploads, ephemeral=False)
        edit_message(self.sim, message, payload, uploads)
        return json_response(self.render(message))

    async def delete(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        message = self.message(request, channel)
        if channel.is_thread and channel.archived:
            raise ApiError(400, THREAD_ARCHIVED, "Thread is archived")
        message.deleted = True
        return no_content()

    # --- threads and forum posts -------------------------------------------------------

    async def thread_from_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        message = self.message(request, channel)
        payload, _ = await read_body(request)
        errors = validation.check_thread_name(payload.get("name"))
        if errors:
            raise rejected(errors.body())
        if message.thread_id is not None:
            raise ApiError(
                400, THREAD_ALREADY_CREATED, "A thread has already been created for this message"
            )
        if channel.is_thread or channel.type == DM:
            raise ApiError(400, 50024, "Cannot execute action on this channel type", record=True)
        # Discord gives a thread started from a message the message's id.
        thread = self.state.add_thread(channel, payload["name"], self.state.bot_user.id, message.id)
        thread.auto_archive_duration = payload.get("auto_archive_duration") or ARCHIVE_AFTER_DAY
        message.thread_id = thread.id
        return json_response(await self._announce(thread), 201)

    async def thread_without_message(self, request: web.Request) -> web.Response:
        channel = self.channel(request)
        payload, uploads = await read_body(request)
        errors = validation.check_thread_name(payload.get("name"))
        first = payload.get("message")
        if channel.type == GUILD_FORUM:
            if not isinstance(first, dict):
                errors.add(("message",), "BASE_TYPE_REQUIRED", "This field is required")
            else:
                validation.check_message(first, ephemeral_allowed=False, errors=errors)
                errors.max_items(("applied_tags",), payload.get("applied_tags"), 5)
        if errors:
            raise rejected(errors.body())
        if channel.type == GUILD_FORUM:
            check_not_empty(first, uploads)
        thread = self.state.add_thread(channel, payload["name"], self.state.bot_user.id)
        thread.auto_archive_duration = payload.get("auto_archive_duration") or ARCHIVE_AFTER_DAY
        thread.applied_tags = [int(t) for t in payload.get("applied_tags") or []]
        if channel.type != GUILD_FORUM:
            return json_response(await self._announce(thread), 201)
        # A forum post's starter message has the thread's id.
        starter = SimMessage(thread.id, thread.id, self.state.bot_user.id)
        self.state.messages[starter.id] = starter
        thread.message_count += 1
        apply_fields(self.sim, starter, first, uploads)
        record_pings(starter, first)
        data = await self._announce(thread)
        data["message"] = self.render(starter)
        return json_response(data, 201)

    async def _announce(self, thread: SimChannel) -> dict[str, Any]:
        data = payloads.channel(self.state, thread)
        event = dict(data, newly_created=True)
        await self.sim.gateway.dispatch("THREAD_CREATE", event, thread.guild_id)
        return data

    async def join_thread(self, request: web.Request) -> web.Response:
        thread = self.channel(request)
        if not thread.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type", record=True)
        who = request.match_info["user_id"]
        thread.member_ids.add(self.state.bot_user.id if who == "@me" else int(who))
        return no_content()

    async def leave_thread(self, request: web.Request) -> web.Response:
        thread = self.channel(request)
        who = request.match_info["user_id"]
        thread.member_ids.discard(self.state.bot_user.id if who == "@me" else int(who))
        return no_content()

    # --- DMs -----------------------------------------------------------------------------

    async def open_dm(self, request: web.Request) -> web.Response:
        payload, _ = await read_body(request)
        try:
            user = self.state.users[int(payload.get("recipient_id", 0))]
        except (KeyError, ValueError):
            raise ApiError(400, INVALID_FORM_BODY, "Invalid Form Body", record=True) from None
        return json_response(payloads.channel(self.state, self.state.dm_channel(user)))
