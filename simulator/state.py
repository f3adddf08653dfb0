"""What the simulated Discord knows: users, guilds, channels, messages and interactions."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.discord_limits import ARCHIVE_AFTER_DAY

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38

EVERYONE_PERMISSIONS = (
    ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
# What the invite link grants the bot (see bot/permissions.py): its managed role has these.
BOT_PERMISSIONS = 326_686_067_712

# Channel types.
GUILD_TEXT = 0
DM = 1
GUILD_CATEGORY = 4
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15
THREAD_TYPES = (10, PUBLIC_THREAD, PRIVATE_THREAD)

# Message flags.
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# How long Discord refuses a second message with the same nonce (`enforce_nonce`). Discord
# says "the past few minutes"; the bot must not rely on the exact length.
NONCE_WINDOW_SECONDS = 180.0

# Interaction types.
PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


class Snowflakes:
    """Increasing Discord ids whose timestamp part is the real time of creation."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_millisecond(self) -> int:
        """An id in a millisecond of its own: servers made in one burst still spread over the
        shards, whose formula `(guild_id >> 22) % shard_count` reads the millisecond."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, ((self._last >> 22) + 1) << 22)
        return self._last


@dataclass
class SimUser:
    id: int
    name: str
    bot: bool = False
    dms_closed: bool = False

    def __hash__(self) -> int:
        return hash(self.id)


@dataclass
class SimRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 1
    managed: bool = False
    colour: int = 0
    bot_id: int | None = None


@dataclass
class SimMember:
    user_id: int
    role_ids: list[int] = field(default_factory=list)
    joined_at: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=UTC))


@dataclass
class SimChannel:
    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    recipient_ids: list[int] = field(default_factory=list)
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = ARCHIVE_AFTER_DAY
    member_ids: set[int] = field(default_factory=set)
    message_count: int = 0
    applied_tags: list[int] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class SimAttachment:
    id: int
    filename: str
    data: bytes
    content_type: str = "application/octet-stream"
    description: str | None = None


@dataclass
class SimMessage:
    """A message as Discord stores it, edits applied. Ephemeral ones never show in a channel."""

    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[SimAttachment] = field(default_factory=list)
    flags: int = 0
    thread_id: int | None = None
    webhook_id: int | None = None
    interaction_id: int | None = None
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    edited_at: datetime | None = None
    deleted: bool = False
    edits: int = 0
    pinged_user_ids: set[int] = field(default_factory=set)
    pinged_role_ids: set[int] = field(default_factory=set)
    pinged_everyone: bool = False
    nonce: str | None = None  # as sent; Discord echoes it on creation, never in a fetch
    via_port: int | None = None  # the simulator port the bot posted it through

    @property
    def pinged(self) -> bool:
        """Whether posting this notified anyone (Discord pings on creation, not on edits)."""
        return bool(self.pinged_user_ids or self.pinged_role_ids or self.pinged_everyone)

    @property
    def files(self) -> list[tuple[str, bytes]]:
        return [(a.filename, a.data) for a in self.attachments]

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)


@dataclass
class SimGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, SimRole] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, SimMember] = field(default_factory=dict)
    channel_names: dict[str, int] = field(default_factory=dict)
    role_names: dict[str, int] = field(default_factory=dict)

    def channel(self, name: str) -> int:
        """The id of the channel called `name` (raises KeyError with the known names)."""
        try:
            return self.channel_names[name]
        except KeyError:
            raise KeyError(f"no channel {name!r}; known: {sorted(self.channel_names)}") from None

    def role(self, name: str) -> int:
        try:
            return self.role_names[name]
        except KeyError:
            raise KeyError(f"no role {name!r}; known: {sorted(self.role_names)}") from None

    def permissions_of(self, user_id: int) -> int:
        """Guild-level permissions, computed as Discord does (owner and Administrator: all)."""
        if user_id == self.owner_id:
            return (1 << 53) - 1
        member = self.members.get(user_id)
        value = self.roles[self.id].permissions
        for role_id in member.role_ids if member else []:
            if role_id in self.roles:
                value |= self.roles[role_id].permissions
        return (1 << 53) - 1 if value & ADMINISTRATOR else value

    def top_position(self, user_id: int) -> int:
        member = self.members.get(user_id)
        positions = [self.roles[r].position for r in (member.role_ids if member else [])]
        return max(positions, default=0)


@dataclass
class SimInteraction:
    """One interaction sent to the bot and everything the bot did with it."""

    id: int
    token: str
    type: int
    user_id: int
    guild_id: int | None
    channel_id: int
    payload: dict[str, Any]
    created: float
    responded: float | None = None  # when the first callback arrived (same clock as created)
    message_id: int | None = None  # the message a component or modal-from-component is on
    response_type: int | None = None
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    completed: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def deferred(self) -> bool:
        return self.response_type in (5, 6)


@dataclass
class Problem:
    """Something a real Discord would have refused: recorded so a test can fail on it."""

    kind: str  # "unknown-route", "rejected"
    method: str
    path: str
    status: int
    body: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.kind}: {self.method} {self.path} -> {self.status} {self.body}"


class SimState:
    """The whole simulated world. The HTTP routes and the gateway both read and write it."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.ids = Snowflakes()
        self._names = itertools.count(1)
        self.time_offset = 0.0
        self.users: dict[int, SimUser] = {}
        self.guilds: dict[int, SimGuild] = {}
        self.channels: dict[int, SimChannel] = {}
        self.messages: dict[int, SimMessage] = {}
        self.attachments: dict[int, SimAttachment] = {}
        self.interactions: dict[int, SimInteraction] = {}
        self.interactions_by_token: dict[str, SimInteraction] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.problems: list[Problem] = []
        # (author id, nonce) -> (message id, when it was created on the monotonic clock)
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self.nonce_replays = 0  # creates answered with an earlier message instead
        self.bot_user = self.add_user("Mentor", bot=True)
        self.application_id = self.bot_user.id
        self.owner = self.add_user("app-owner")

    # --- time -----------------------------------------------------------------

    def monotonic(self) -> float:
        """Seconds on the simulator's own clock for interaction deadlines (skewable)."""
        return time.monotonic() + self.time_offset

    # --- users, guilds, channels -------------------------------------------------

    def add_user(self, name: str, *, bot: bool = False) -> SimUser:
        user = SimUser(self.ids.next(), name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner: SimUser) -> SimGuild:
        guild = SimGuild(self.ids.next_millisecond(), name, owner.id)
        everyone = SimRole(guild.id, "@everyone", EVERYONE_PERMISSIONS, position=0)
        guild.roles[everyone.id] = everyone
        self.guilds[guild.id] = guild
        self.add_member(guild, owner)
        bot_role = self.add_role(guild, "Mentor", BOT_PERMISSIONS, managed=True)
        bot_role.bot_id = self.bot_user.id
        bot_role.position = 50
        self.add_member(guild, self.bot_user, [bot_role.id])
        return guild

    def add_role(
        self, guild: SimGuild, name: str, permissions: int = 0, *, managed: bool = False
    ) -> SimRole:
        position = 1 + max((r.position for r in guild.roles.values() if r.position < 50), default=0)
        role = SimRole(self.ids.next(), name, permissions, position=position, managed=managed)
        guild.roles[role.id] = role
        guild.role_names[name] = role.id
        return role

    def add_member(
        self, guild: SimGuild, user: SimUser, role_ids: list[int] | None = None
    ) -> SimMember:
        member = SimMember(user.id, list(role_ids or []))
        guild.members[user.id] = member
        return member

    def add_channel(
        self, guild: SimGuild, name: str, type_: int = GUILD_TEXT, parent_id: int | None = None
    ) -> SimChannel:
        channel = SimChannel(
            self.ids.next(),
            type_,
            name,
            guild_id=guild.id,
            parent_id=parent_id,
            position=len(guild.channel_ids),
        )
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        guild.channel_names[name] = channel.id
        return channel

    def add_thread(
        self, parent: SimChannel, name: str, owner_id: int, thread_id: int | None = None
    ) -> SimChannel:
        thread = SimChannel(
            thread_id or self.ids.next(),
            PUBLIC_THREAD,
            name,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner_id,
        )
        thread.member_ids.add(owner_id)
        self.channels[thread.id] = thread
        return thread

    def dm_channel(self, user: SimUser) -> SimChannel:
        for channel in self.channels.values():
            if channel.type == DM and channel.recipient_ids == [user.id]:
                return channel
        channel = SimChannel(self.ids.next(), DM, recipient_ids=[user.id])
        self.channels[channel.id] = channel
        return channel

    def guild_of(self, channel: SimChannel) -> SimGuild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id else None

    # --- messages -----------------------------------------------------------------

    def add_message(self, channel_id: int, author_id: int, **fields: Any) -> SimMessage:
        message = SimMessage(self.ids.next(), channel_id, author_id, **fields)
        self.messages[message.id] = message
        channel = self.channels.get(channel_id)
        if channel is not None:
            channel.message_count += 1
        return message

    def add_attachment(
        self, filename: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> SimAttachment:
        attachment = SimAttachment(self.ids.next(), filename, data, content_type)
        self.attachments[attachment.id] = attachment
        return attachment

    def message_for_nonce(self, author_id: int, nonce: str) -> SimMessage | None:
        """The message this author created with this nonce within Discord's window."""
        found = self.nonces.get((author_id, nonce))
        if found is None or self.monotonic() - found[1] > NONCE_WINDOW_SECONDS:
            return None
        return self.messages.get(found[0])

    def remember_nonce(self, message: SimMessage) -> None:
        if message.nonce is not None:
            self.nonces[(message.author_id, message.nonce)] = (message.id, self.monotonic())

    def channel_messages(self, channel_id: int) -> list[SimMessage]:
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and not m.ephemeral
        ]

    # --- interactions -------------------------------------------------------------

    def new_interaction(
        self,
        type_: int,
        user: SimUser,
        guild_id: int | None,
        channel_id: int,
        payload: dict[str, Any],
        message_id: int | None = None,
    ) -> SimInteraction:
        interaction = SimInteraction(
            id=self.ids.next(),
            token=f"sim-{secrets.token_urlsafe(24)}",
            type=type_,
            user_id=user.id,
            guild_id=guild_id,
            channel_id=channel_id,
            payload=payload,
            created=self.monotonic(),
            message_id=message_id,
        )
        self.interactions[interaction.id] = interaction
        self.interactions_by_token[interaction.token] = interaction
        return interaction

    def commands_for(self, guild_id: int | None) -> list[dict[str, Any]]:
        """Guild commands first (they shadow global ones), then global ones."""
        guild = self.guild_commands.get(guild_id, []) if guild_id else []
        names = {c["name"] for c in guild}
        return guild + [c for c in self.global_commands if c["name"] not in names]
