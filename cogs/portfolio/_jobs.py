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
from typing import TYPE_CHECKING

import discord

from bot.clock import to_db_time
from bot.delivery import (
    ChannelPost,
    Destination,
    DirectMessage,
    ForumPost,
    Outcome,
)
from bot.markdown import clip_escaped
from bot.scheduler import Job
from bot.services.guild_settings import GuildSettings
from bot.services.portfolio.models import Request
from bot.services.scheduled_posts import PostKey
from bot.ui.replies import ping_only
from cogs.portfolio._embeds import duration, jump_url, nudge_embed
from cogs.portfolio._notices import PortfolioNotices
from cogs.portfolio._publisher import Publisher

if TYPE_CHECKING:
    from bot.app import MentorBot

log = logging.getLogger(__name__)

NUDGE_KIND = "portfolio:unclaimed"
REMIND_KIND = "portfolio:remind"


def where(request: Request) -> str:
    link = jump_url(request)
    return f"request #{request.id} ({link})" if link else f"request #{request.id}"


class PortfolioJobs:
    def __init__(self, bot: MentorBot, publisher: Publisher) -> None:
        self.bot = bot
        self.publisher = publisher
        self.services = bot.services
        self.portfolio = bot.services.portfolio
        self.notices = PortfolioNotices(bot, publisher)

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
        """Send the notices still due (cogs/portfolio/_notices.py): those of returns and
        expiries, and any a crash or a failure kept from going out at once."""
        await self.notices.send_due(now)

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
