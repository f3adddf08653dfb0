"""One way to send a scheduled post: exactly once, never lost to a crash, one failure policy.

`Delivery.deliver(key, build, after)`:

1. claims the post (a lease: see bot/services/scheduled_posts.py); held elsewhere or done
   already, it returns at once;
2. builds where it goes and what it says (`build`), only once the claim is won;
3. on any try but the first (an earlier one failed, timed out, or its process died), looks
   for the post among the recent messages of each destination, by its marker: found, it is
   recorded and not sent again;
4. sends it with a nonce that is the same on every try (`enforce_nonce`), so Discord itself
   refuses a second message for a few minutes (discord.py's own 5xx retries included);
5. runs `after(message, index)` (thread, bookkeeping), then marks the post sent.

Failures, the same for every post:

- 429, 5xx, timeouts, a dropped connection, or an error of our own while building: the
  claim is released and the post is tried again after a growing back-off;
- Forbidden or NotFound (or another refusal no retry can fix): the next destination is
  tried (a DM, then the channel); when none is left the post is marked skipped and the
  moderators are told, once a day per refused channel.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import aiohttp
import discord

from bot.clock import Clock
from bot.services.guild_settings import GuildSettingsService
from bot.services.scheduled_posts import PostKey, ScheduledPosts

log = logging.getLogger(__name__)

# Recent messages searched for a post's marker after an unclean try (two requests).
SCAN_LIMIT = 200
# One send may not take longer than this (discord.py waits out short 429s within it).
SEND_TIMEOUT = 60.0
NOTICE_KIND = "notice:refused"


class Outcome(Enum):
    SENT = "sent"  # posted now, or found posted by an earlier try
    SKIPPED = "skipped"  # Discord refused it for good, or there is nowhere to post it
    LATER = "later"  # a passing failure: tried again after a back-off
    HELD = "held"  # another try holds it, it is backing off, or it was done before


@dataclass(frozen=True)
class Delivered:
    outcome: Outcome
    message: discord.Message | None = None
    index: int | None = None  # which destination took it

    @property
    def done(self) -> bool:
        return self.outcome in (Outcome.SENT, Outcome.SKIPPED)


def message_text(message: discord.Message) -> str:
    """The words of a message that a marker can be in: content, embed titles and footers."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or "", embed.footer.text or ""]
    return "\n".join(parts)


def has_marker(message: discord.Message, marker: str) -> bool:
    pattern = rf"(?<![\w#]){re.escape(marker)}(?!\w)"
    return re.search(pattern, message_text(message)) is not None


@dataclass
class Destination:
    """Somewhere a post can go, what it says there (`message`: arguments of `send`), and the
    marker: words in it that no other post of the bot in that place has."""

    marker: str
    message: dict[str, Any] = field(default_factory=dict)
    tell_moderators = True  # a refusal here is something moderators can fix

    @property
    def channel_id(self) -> int | None:
        return None

    def describe(self) -> str:
        raise NotImplementedError

    async def messageable(self, client: discord.Client) -> discord.abc.Messageable:
        raise NotImplementedError

    async def find(self, client: discord.Client) -> discord.Message | None:
        """The post, if an earlier try made it: among the bot's recent messages here."""
        channel = await self.messageable(client)
        async for message in channel.history(limit=SCAN_LIMIT):
            if message.author.id == _own_id(client) and has_marker(message, self.marker):
                return message
        return None

    async def send(self, client: discord.Client, nonce: str) -> discord.Message:
        channel = await self.messageable(client)
        return await channel.send(nonce=nonce, **self.message)


@dataclass
class ChannelPost(Destination):
    guild_id: int = 0
    channel: int = 0

    @property
    def channel_id(self) -> int | None:
        return self.channel

    def describe(self) -> str:
        return f"<#{self.channel}>"

    async def messageable(self, client: discord.Client) -> discord.abc.Messageable:
        return client.get_partial_messageable(self.channel, guild_id=self.guild_id)


@dataclass
class DirectMessage(Destination):
    user_id: int = 0
    tell_moderators = False  # closed DMs are the member's choice

    def describe(self) -> str:
        return f"a DM to <@{self.user_id}>"

    async def messageable(self, client: discord.Client) -> discord.abc.Messageable:
        return await client.create_dm(discord.Object(self.user_id))


@dataclass
class ForumPost(Destination):
    """A new post (thread) in a forum channel; its marker is the thread's name.

    Discord takes no nonce for a forum post, so only the marker guards a retry.
    """

    forum: discord.ForumChannel | None = None

    @property
    def channel_id(self) -> int | None:
        return self.forum.id if self.forum else None

    def describe(self) -> str:
        return f"<#{self.channel_id}>"

    async def find(self, client: discord.Client) -> discord.Message | None:
        assert self.forum is not None
        for thread in self.forum.threads:
            if thread.owner_id == _own_id(client) and thread.name == self.marker:
                # A forum post's first message has the thread's id.
                return await thread.fetch_message(thread.id)
        return None

    async def send(self, client: discord.Client, nonce: str) -> discord.Message:
        assert self.forum is not None
        created = await self.forum.create_thread(name=self.marker, **self.message)
        return created.message


Build = Callable[[], Awaitable[Sequence[Destination]]]
After = Callable[[discord.Message, int], Awaitable[None]]


def passing(error: BaseException) -> bool:
    """A failure that trying again later can fix."""
    if isinstance(error, discord.HTTPException):
        return error.status == 429 or error.status >= 500
    return isinstance(error, TimeoutError | aiohttp.ClientError | OSError)


def refusal(error: discord.HTTPException) -> str:
    return f"{error.status} {error.text or type(error).__name__}"[:200]


class Delivery:
    """Sends scheduled posts for every capability; `bot.delivery`."""

    def __init__(
        self,
        client: discord.Client,
        posts: ScheduledPosts,
        guild_settings: GuildSettingsService,
        clock: Clock,
    ) -> None:
        self.client = client
        self.posts = posts
        self.guild_settings = guild_settings
        self.clock = clock

    async def deliver(
        self,
        key: PostKey,
        build: Build,
        after: After | None = None,
        *,
        what: str = "a scheduled post",
        notify: bool = True,
    ) -> Delivered:
        """Send the post `key` once; `what` names it for the moderators if it is refused."""
        claim = await self.posts.claim(key.guild_id, key.kind, key.period)
        if claim is None:
            return Delivered(Outcome.HELD)
        try:
            destinations = list(await build())
            if not destinations:
                await self.posts.mark_skipped(*_key(key), "nowhere to post it")
                log.info("Skipped %s for server %s: nowhere to post it", key.kind, key.guild_id)
                return Delivered(Outcome.SKIPPED)
            if claim.retry:
                found = await self._find(destinations)
                if found is not None:
                    log.info("Found %s %s posted by an earlier try", key.kind, key.period)
                    return await self._finish(key, found[0], found[1], after)
            refused: list[tuple[Destination, discord.HTTPException]] = []
            for index, destination in enumerate(destinations):
                try:
                    message = await asyncio.wait_for(
                        destination.send(self.client, key.nonce(index)), SEND_TIMEOUT
                    )
                except discord.HTTPException as error:
                    if passing(error):
                        raise
                    refused.append((destination, error))
                    continue
                return await self._finish(key, message, index, after)
        except Exception as error:
            await self.posts.release(*_key(key))
            if passing(error):
                log.warning("Posting %s for server %s failed (%s); will retry", *_log(key, error))
            else:
                log.exception("Posting %s for server %s failed; will retry", key.kind, key.guild_id)
            return Delivered(Outcome.LATER)
        await self._skip(key, refused, what, notify)
        return Delivered(Outcome.SKIPPED)

    async def _find(self, destinations: list[Destination]) -> tuple[discord.Message, int] | None:
        for index, destination in enumerate(destinations):
            try:
                message = await asyncio.wait_for(destination.find(self.client), SEND_TIMEOUT)
            except discord.HTTPException as error:
                if passing(error):
                    raise
                continue  # can't read there, so it was not posted there
            if message is not None:
                return message, index
        return None

    async def _finish(
        self, key: PostKey, message: discord.Message, index: int, after: After | None
    ) -> Delivered:
        if after is not None:
            await after(message, index)
        await self.posts.mark_sent(*_key(key), message.id)
        return Delivered(Outcome.SENT, message, index)

    async def _skip(
        self,
        key: PostKey,
        refused: list[tuple[Destination, discord.HTTPException]],
        what: str,
        notify: bool,
    ) -> None:
        reason = refusal(refused[-1][1])
        await self.posts.mark_skipped(*_key(key), reason)
        log.warning(
            "Skipped %s for server %s: Discord refused it (%s)", key.kind, key.guild_id, reason
        )
        if not notify:
            return
        for destination, error in refused:
            if destination.tell_moderators and destination.channel_id is not None:
                await self.tell_moderators(key.guild_id, destination, error, what)

    async def tell_moderators(
        self, guild_id: int, destination: Destination, error: discord.HTTPException, what: str
    ) -> Delivered:
        """Tell the moderators that Discord refused a post in a channel, once a day per channel."""
        refused_channel = destination.channel_id
        day = self.clock.now().date().isoformat()
        marker = f"Posting in <#{refused_channel}> failed on {day}"
        text = (
            f"{marker}: Discord refused {what} ({refusal(error)}). Give me View Channel and "
            "Send Messages there, or choose another channel with /config channel."
        )
        key = PostKey(guild_id, NOTICE_KIND, f"{refused_channel}:{day}")
        return await self.to_moderators(key, marker, text, avoid=refused_channel)

    async def to_moderators(
        self, key: PostKey, marker: str, text: str, *, avoid: int | None = None
    ) -> Delivered:
        """A notice for the moderators (`text`, which holds `marker`), sent once as the post
        `key`: in the Q&A channel, else the check-in one, else the challenge one (never
        `avoid`), pinging the moderator role when there is one."""

        async def build() -> list[Destination]:
            settings = await self.guild_settings.get(key.guild_id)
            candidates = (
                settings.qa_channel_id,
                settings.checkin_channel_id,
                settings.challenge_channel_id,
            )
            channel_id = next((c for c in candidates if c and c != avoid), None)
            if channel_id is None:
                return []
            moderators = settings.moderator_role_id
            prefix = f"<@&{moderators}> " if moderators else "Moderators: "
            pings = discord.AllowedMentions(
                roles=[discord.Object(moderators)] if moderators else False,
                users=False,
                everyone=False,
            )
            return [
                ChannelPost(
                    marker,
                    {"content": prefix + text, "allowed_mentions": pings},
                    guild_id=key.guild_id,
                    channel=channel_id,
                )
            ]

        return await self.deliver(key, build, notify=False)


def _own_id(client: discord.Client) -> int | None:
    return client.user.id if client.user is not None else None


def _key(key: PostKey) -> tuple[int, str, str]:
    return key.guild_id, key.kind, key.period


def _log(key: PostKey, error: BaseException) -> tuple[str, int, str]:
    return key.kind, key.guild_id, str(error) or type(error).__name__
