"""Scheduled portfolio work: nudges, reminders, claims that ran out, expiry, stale posts.

Each job asks the service what is due; every message goes through the one delivery helper
(bot/delivery.py), so a second tick or a restart never sends the same notice twice and a
crash never loses one; after downtime the bot catches up once. Returns and expiries are
changes of state: the service plans their notices in the same transaction, and the
notices job sends them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.clock import to_db_time
from bot.delivery import (
    After,
    Build,
    ChannelPost,
    Destination,
    DirectMessage,
    ForumPost,
    Outcome,
)
from bot.markdown import clip_escaped
from bot.scheduler import Job
from bot.services.guild_settings import GuildSettings
from bot.services.portfolio.models import Notice, Request
from bot.services.portfolio.upkeep import EXPIRED_DM_KIND, EXPIRED_KIND, RETURNED_KIND
from bot.services.scheduled_posts import RETURNED_DM_KIND, PostKey
from bot.ui.replies import NO_PINGS, ping_only
from cogs.portfolio._embeds import duration, jump_url, nudge_embed
from cogs.portfolio._publisher import Publisher

if TYPE_CHECKING:
    from bot.app import MentorBot

log = logging.getLogger(__name__)

NUDGE_KIND = "portfolio:unclaimed"
REMIND_KIND = "portfolio:remind"


def day_of(when: datetime | None) -> str:
    return f"{when:%A} {when.day} {when:%B}" if when else "an earlier day"


def thread_destinations(
    request: Request, marker: str, message: dict[str, Any]
) -> list[Destination]:
    """The request's thread; without one (or when it is refused), a reply under its post."""
    message = {"allowed_mentions": NO_PINGS, **message}
    found: list[Destination] = []
    if request.thread_id is not None:
        found.append(
            ChannelPost(marker, message, guild_id=request.guild_id, channel=request.thread_id)
        )
    post = request.post
    if post is not None and post.post_channel_id != request.thread_id:
        reference = discord.MessageReference(
            message_id=post.message_id, channel_id=post.post_channel_id, fail_if_not_exists=False
        )
        found.append(
            ChannelPost(
                marker,
                {**message, "reference": reference},
                guild_id=request.guild_id,
                channel=post.post_channel_id,
            )
        )
    return found


def where(request: Request) -> str:
    link = jump_url(request)
    return f"request #{request.id} ({link})" if link else f"request #{request.id}"


class PortfolioJobs:
    def __init__(self, bot: MentorBot, publisher: Publisher) -> None:
        self.bot = bot
        self.publisher = publisher
        self.services = bot.services
        self.portfolio = bot.services.portfolio

    def jobs(self) -> dict[str, Job]:
        """In the order they should run within one tick."""
        return {
            "portfolio:returns": self.return_stale_claims,
            "portfolio:expiry": self.expire,
            "portfolio:notices": self.announce,
            "portfolio:reminders": self.remind_reviewers,
            "portfolio:nudges": self.nudge_reviewers,
            "portfolio:posts": self.sync_posts,
        }

    async def return_stale_claims(self, now: datetime) -> None:
        """Claims that ran out go back to the queue; their notices are planned with them."""
        await self.portfolio.return_stale_claims(now)

    async def expire(self, now: datetime) -> None:
        await self.portfolio.expire_stale(now)

    async def announce(self, now: datetime) -> None:
        """Send the notices of returns and expiries: planned with the change, so a crash
        between the change and the message delays the message, never loses it."""
        for notice in await self.portfolio.notices_due(self.services.scheduled_posts, now):
            await self.bot.delivery.deliver(
                notice.key,
                self._notice_build(notice),
                self._notice_after(notice),
                what="a portfolio request's notice",
            )

    def _notice_build(self, notice: Notice) -> Build:
        async def build() -> list[Destination]:
            request = notice.request
            if request is None:
                return []  # erased since: nothing left to announce
            kind = notice.key.kind
            if kind == RETURNED_KIND:
                marker, text = self._returned(notice)
                return thread_destinations(request, marker, {"content": text})
            if kind == RETURNED_DM_KIND and notice.recipient_id is not None:
                marker, text = self._returned_dm(notice)
                return [DirectMessage(marker, {"content": text}, user_id=notice.recipient_id)]
            if kind == EXPIRED_KIND:
                days = duration(self.portfolio.rules.expire_after)
                marker = "This request expired"
                text = f"{marker}: nobody claimed it within {days}."
                return thread_destinations(request, marker, {"content": text})
            if kind == EXPIRED_DM_KIND:
                days = duration(self.portfolio.rules.expire_after)
                marker = f"Your review request #{request.id} expired"
                link = jump_url(request)
                text = (
                    f"{marker} after {days} without a reviewer{f' ({link})' if link else ''}. "
                    "You are welcome to ask again with /portfolio submit; reviewing someone "
                    "else's project first moves yours up the queue."
                )
                return [DirectMessage(marker, {"content": text}, user_id=request.owner_id)]
            return []

        return build

    def _notice_after(self, notice: Notice) -> After:
        async def after(message: discord.Message, index: int) -> None:
            request = notice.request
            if notice.key.kind == EXPIRED_KIND and request and request.thread_id is not None:
                await self.publisher.archive(request.thread_id)  # a message may reopen it

        return after

    def _returned(self, notice: Notice) -> tuple[str, str]:
        days = duration(self.portfolio.rules.return_after)
        marker = f"the claim of {day_of(notice.claimed_at)} ran"
        return marker, (
            f"This request is back in the queue: {marker} {days} without a review. Any "
            "reviewer can claim it now."
        )

    def _returned_dm(self, notice: Notice) -> tuple[str, str]:
        days = duration(self.portfolio.rules.return_after)
        marker = f"You claimed request #{notice.request_id} on {day_of(notice.claimed_at)}"
        link = jump_url(notice.request) if notice.request else None
        return marker, (
            f"{marker} and it went back to the queue after {days} without a review"
            f"{f' ({link})' if link else ''}. Claim it again if you are still on it."
        )

    async def remind_reviewers(self, now: datetime) -> None:
        for request in await self.portfolio.reminders_due(now):
            await self._isolated(request, self._remind(request, now))

    async def _remind(self, request: Request, now: datetime) -> None:
        """Remind the reviewer by DM, or (DMs closed) with a mention in the request's thread."""
        if request.reviewer_id is None or request.claimed_at is None:
            return
        reviewer_id, claimed_at = request.reviewer_id, request.claimed_at
        left = duration(self.portfolio.rules.return_after - self.portfolio.rules.remind_after)
        marker = (
            f"on {claimed_at:%A} {claimed_at.day} {claimed_at:%B} you claimed request #{request.id}"
        )
        text = (
            f"on {claimed_at:%A} {claimed_at.day} {claimed_at:%B} you claimed {where(request)}, "
            f"{clip_escaped(request.title, 160)}, {duration(now - claimed_at)} ago. Press Submit "
            "review on its post when you're ready, or Unclaim so someone else can take it. It "
            f"returns to the queue in {left}."
        )

        async def build() -> list[Destination]:
            found: list[Destination] = [
                DirectMessage(marker, {"content": f"Reminder: {text}"}, user_id=reviewer_id)
            ]
            if request.thread_id is not None:
                message = {
                    "content": f"<@{reviewer_id}> reminder: {text}",
                    "allowed_mentions": ping_only(reviewer_id),
                }
                found.append(
                    ChannelPost(
                        marker, message, guild_id=request.guild_id, channel=request.thread_id
                    )
                )
            return found

        async def after(message: discord.Message, index: int) -> None:
            if index == 1:  # in the request's thread: it quotes the owner's title
                await self.services.member_posts.record(
                    request.guild_id, request.owner_id, message.channel.id, message.id, "reminder"
                )
            await self.portfolio.claim_reminder(request, now)

        key = PostKey(request.guild_id, REMIND_KIND, f"{request.id}:{to_db_time(claimed_at)}")
        sent = await self.bot.delivery.deliver(key, build, after, what="a reviewer reminder")
        if sent.outcome is Outcome.SKIPPED:
            log.info("No way to remind the reviewer of request %s", request.id)
            await self.portfolio.claim_reminder(request, now)

    async def nudge_reviewers(self, now: datetime) -> None:
        """Raise unclaimed requests in the review channel, at most once a day per server."""
        for guild_id, requests in (await self.portfolio.unclaimed_due(now)).items():
            settings = await self.services.guild_settings.get(guild_id)
            if settings.review_channel_id is None:
                continue
            await self._nudge(settings, requests, now)

    async def _nudge(self, settings: GuildSettings, requests: list[Request], now: datetime) -> None:
        day = now.astimezone(settings.zone).date().isoformat()
        listed = requests[: self.portfolio.rules.nudge_max_listed]

        async def build() -> list[Destination]:
            return [self.nudge_destination(settings, listed, len(requests), now, day)]

        async def after(message: discord.Message, index: int) -> None:
            await self.portfolio.mark_nudged([r.id for r in listed], now)

        key = PostKey(settings.guild_id, NUDGE_KIND, day)
        await self.bot.delivery.deliver(key, build, after, what="the review queue nudge")

    def nudge_destination(
        self, settings: GuildSettings, requests: list[Request], count: int, now: datetime, day: str
    ) -> Destination:
        """The nudge: a message in a text channel, a new post in a forum."""
        assert settings.review_channel_id is not None
        hours = duration(self.portfolio.rules.nudge_after)
        what = f"{count} review request{'s' if count != 1 else ''}"
        role_id = settings.reviewer_role_id
        if role_id:
            content = f"<@&{role_id}> {what} waited more than {hours} without a reviewer."
            mentions = discord.AllowedMentions(
                everyone=False, users=False, roles=[discord.Object(role_id)]
            )
        else:
            content = f"Reviewers: {what} waited more than {hours} without a reviewer."
            mentions = discord.AllowedMentions.none()
        marker = f"Waiting for a reviewer ({day})"
        embed = nudge_embed(requests, count, now, self.portfolio.rubric)
        embed.set_footer(text=marker)
        message = {"content": content, "embed": embed, "allowed_mentions": mentions}
        channel = self.bot.get_channel(settings.review_channel_id)
        if isinstance(channel, discord.ForumChannel):
            return ForumPost(marker, message, forum=channel)
        return ChannelPost(
            marker, message, guild_id=settings.guild_id, channel=settings.review_channel_id
        )

    async def sync_posts(self, now: datetime) -> None:
        """Posts whose last edit failed are edited again until they show the current state."""
        for request in await self.portfolio.stale_posts():
            await self._isolated(request, self.publisher.refresh(request))

    async def _isolated(self, request: Request, work: Awaitable[object]) -> None:
        """One request's notices failing must not hold up the others."""
        try:
            await work
        except Exception:
            log.exception("Scheduled portfolio work for request %s failed", request.id)
