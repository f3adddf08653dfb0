"""The portfolio feature's posts and their edits (the messages its changes owe people go
through the delivery helper: cogs/portfolio/_notices.py).

A missing channel, post or thread is an answer, not a crash: the request in the database
stays as it is, and the caller learns what could not be delivered.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.discord_limits import ARCHIVE_AFTER_WEEK
from bot.errors import DomainError
from bot.services.guild_settings import GuildSettings
from bot.services.portfolio.models import PostLocation, Request, Review, Status
from cogs.portfolio._embeds import request_embed, review_embed, thread_name
from cogs.portfolio._views import post_view

if TYPE_CHECKING:
    from bot.app import MentorBot

log = logging.getLogger(__name__)

CLOSED = (Status.WITHDRAWN, Status.EXPIRED)
NO_CHANNEL = (
    "No review channel is set for this server yet: a moderator can choose one with "
    "/config channel (kind: Portfolio reviews)."
)
CHANNEL_GONE = (
    "The review channel set for this server no longer exists: a moderator can choose "
    "another with /config channel."
)


class Publisher:
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.portfolio = bot.services.portfolio
        self.rubric = bot.services.portfolio.rubric

    # --- The post ---------------------------------------------------------------

    async def render(self, request: Request) -> tuple[discord.Embed, discord.ui.View | None]:
        history = await self.portfolio.history(request) if request.round > 1 else None
        review = (
            await self.portfolio.review_of(request.id)
            if request.status is Status.REVIEWED
            else None
        )
        embed = request_embed(request, self.rubric, history=history, review=review)
        rated = review is not None and review.helpful is not None
        return embed, post_view(request, rated=rated)

    async def review_channel(
        self, settings: GuildSettings
    ) -> discord.TextChannel | discord.ForumChannel:
        channel_id = settings.review_channel_id
        if channel_id is None:
            raise DomainError(NO_CHANNEL)
        channel = self.bot.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(channel_id)
            except discord.NotFound:
                raise DomainError(CHANNEL_GONE) from None
            except discord.Forbidden:
                raise DomainError(
                    "I can't see the review channel: give me View Channel there, or pick "
                    "another with /config channel."
                ) from None
        if not isinstance(channel, discord.TextChannel | discord.ForumChannel):
            raise DomainError("The review channel must be a text or forum channel.")
        return channel

    async def publish(self, request: Request) -> Request:
        """Post a new request: a forum post, or a message with its own thread."""
        settings = await self.bot.services.guild_settings.get(request.guild_id)
        channel = await self.review_channel(settings)
        embed, view = await self.render(request)
        extra: dict[str, Any] = {} if view is None else {"view": view}
        name = thread_name(request)
        try:
            if isinstance(channel, discord.ForumChannel):
                created = await channel.create_thread(
                    name=name,
                    embed=embed,
                    applied_tags=self._tags(channel, request),
                    auto_archive_duration=ARCHIVE_AFTER_WEEK,
                    **extra,
                )
                location = PostLocation(
                    channel.id, created.thread.id, created.message.id, created.thread.id
                )
            else:
                message = await channel.send(embed=embed, **extra)
                thread_id = await self._open_thread(message, name)
                location = PostLocation(channel.id, channel.id, message.id, thread_id)
        except discord.NotFound:
            raise DomainError(CHANNEL_GONE) from None
        except discord.Forbidden:
            raise DomainError(
                f"I am not allowed to post in <#{channel.id}>: a server admin can give me "
                "Send Messages, Create Public Threads and Embed Links there."
            ) from None
        except discord.HTTPException as exc:
            log.warning("Posting portfolio request %s failed", request.id, exc_info=True)
            raise DomainError(
                f"Discord did not take the post (HTTP {exc.status}), so nothing was saved. "
                "Please try again in a moment."
            ) from None
        posted = await self.portfolio.attach_post(request.guild_id, request.id, location)
        await self.portfolio.mark_post_synced(posted.id, posted.post_version)
        return posted

    async def _open_thread(self, message: discord.Message, name: str) -> int | None:
        try:
            thread = await message.create_thread(
                name=name, auto_archive_duration=ARCHIVE_AFTER_WEEK
            )
        except discord.HTTPException:
            log.warning("Could not open a thread under review post %s", message.id, exc_info=True)
            return None
        return thread.id

    def _tags(self, forum: discord.ForumChannel, request: Request) -> list[discord.ForumTag]:
        """The forum tag named like the project type, if the forum has one."""
        names = {request.archetype.lower()}
        for archetype in self.rubric.archetypes:
            if archetype.key == request.archetype:
                names.add(archetype.name.lower())
        matching = [t for t in forum.available_tags if t.name.lower() in names]
        if matching:
            return matching[:1]
        if forum.flags.require_tag and forum.available_tags:
            return [forum.available_tags[0]]
        return []

    async def refresh(self, request: Request) -> bool:
        """Edit the post to show the request's current state. False if it couldn't."""
        post = request.post
        if post is None:
            return False
        embed, view = await self.render(request)
        message = self.bot.get_partial_messageable(
            post.post_channel_id, guild_id=request.guild_id
        ).get_partial_message(post.message_id)
        try:
            await message.edit(embed=embed, view=view)
        except discord.NotFound:
            log.info("Post of portfolio request %s is gone; no longer editing it", request.id)
            await self.portfolio.forget_post(request.id)
            return False
        except discord.Forbidden:
            log.warning("Not allowed to edit the post of portfolio request %s", request.id)
            await self.portfolio.mark_post_synced(request.id, request.post_version)
            return False
        except discord.HTTPException:
            log.warning("Editing portfolio post %s failed; will retry", request.id, exc_info=True)
            return False
        await self.synced(request)
        return True

    async def synced(self, request: Request) -> None:
        """The post shows this version: remember it, and archive a closed request's thread."""
        await self.portfolio.mark_post_synced(request.id, request.post_version)
        if request.status in CLOSED and request.thread_id is not None:
            await self.archive(request.thread_id)

    async def archive(self, thread_id: int) -> None:
        with contextlib.suppress(discord.HTTPException):
            thread = self.bot.get_channel(thread_id) or await self.bot.fetch_channel(thread_id)
            if isinstance(thread, discord.Thread) and not thread.archived:
                await thread.edit(archived=True)

    # --- The review ----------------------------------------------------------------

    async def refresh_review(self, request: Request, review: Review) -> None:
        """After the owner rated it: show the rating and drop the button."""
        channel_id = request.thread_id or request.post_channel_id
        if review.message_id is None or channel_id is None:
            return
        message = self.bot.get_partial_messageable(
            channel_id, guild_id=request.guild_id
        ).get_partial_message(review.message_id)
        with contextlib.suppress(discord.HTTPException):
            await message.edit(embed=review_embed(request, review, self.rubric), view=None)
