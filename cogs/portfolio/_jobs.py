"""Scheduled portfolio work: nudges, reminders, claims that ran out, expiry, stale posts.

Each job asks the service what is due and claims it before sending, so a second tick or a
restart never sends the same notice twice; after downtime the bot catches up once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.errors import DomainError
from bot.markdown import clip_escaped
from bot.scheduler import Job
from bot.services.guild_settings import GuildSettings
from bot.services.portfolio.models import Reminder, Request, Transition
from bot.ui.replies import ping_only
from cogs.portfolio._embeds import duration, jump_url, nudge_embed
from cogs.portfolio._publisher import Publisher

if TYPE_CHECKING:
    from bot.app import MentorBot

log = logging.getLogger(__name__)

NUDGE_KIND = "portfolio:unclaimed"


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
            "portfolio:reminders": self.remind_reviewers,
            "portfolio:nudges": self.nudge_reviewers,
            "portfolio:posts": self.sync_posts,
        }

    async def return_stale_claims(self, now: datetime) -> None:
        for moved in await self.portfolio.return_stale_claims(now):
            await self._isolated(moved.request, self._announce_return(moved))

    async def _announce_return(self, moved: Transition) -> None:
        days = duration(self.portfolio.rules.return_after)
        request = moved.request
        await self.publisher.refresh(request)
        await self.publisher.in_thread(
            request,
            content=f"This request is back in the queue: its claim ran {days} without a "
            "review. Any reviewer can claim it now.",
        )
        if moved.previous_reviewer_id:
            await self.publisher.dm_quietly(
                moved.previous_reviewer_id,
                content=f"You claimed {where(request)} {days} ago without a review, so it "
                "went back to the queue. Claim it again if you are still on it.",
            )

    async def expire(self, now: datetime) -> None:
        for request in await self.portfolio.expire_stale(now):
            await self._isolated(request, self._announce_expiry(request))

    async def _announce_expiry(self, request: Request) -> None:
        days = duration(self.portfolio.rules.expire_after)
        await self.publisher.in_thread(
            request,
            content=f"This request expired: nobody claimed it within {days}.",
        )
        await self.publisher.refresh(request)
        await self.publisher.dm_quietly(
            request.owner_id,
            content=f"Your {where(request)} expired after {days} without a reviewer. "
            "You are welcome to ask again with /portfolio submit; reviewing someone "
            "else's project first moves yours up the queue.",
        )

    async def remind_reviewers(self, now: datetime) -> None:
        for due in await self.portfolio.reminders_due(now):
            reminder = await self.portfolio.claim_reminder(due, now)
            if reminder is not None:
                await self._isolated(reminder.request, self._remind(reminder, now))

    async def _remind(self, reminder: Reminder, now: datetime) -> None:
        request = reminder.request
        left = duration(self.portfolio.rules.return_after - self.portfolio.rules.remind_after)
        text = (
            f"you claimed {where(request)}, {clip_escaped(request.title, 160)}, "
            f"{duration(now - request.claimed_at) if request.claimed_at else 'a while'} ago. "
            "Press Submit review on its post when you're ready, or Unclaim so someone else "
            f"can take it. It returns to the queue in {left}."
        )
        try:
            sent = await self.publisher.dm(reminder.reviewer_id, content=f"Reminder: {text}")
            if not sent:
                sent = (
                    await self.publisher.in_thread(
                        request,
                        content=f"<@{reminder.reviewer_id}> reminder: {text}",
                        allowed_mentions=ping_only(reminder.reviewer_id),
                    )
                    is not None
                )
        except discord.HTTPException:
            log.warning("Reminder for request %s failed; will retry", request.id)
            await self.portfolio.release_reminder(request.id)
            return
        if not sent:
            log.info("No way to remind the reviewer of request %s", request.id)

    async def nudge_reviewers(self, now: datetime) -> None:
        """Raise unclaimed requests in the review channel, at most once a day per server."""
        rules = self.portfolio.rules
        for guild_id, requests in (await self.portfolio.unclaimed_due(now)).items():
            settings = await self.services.guild_settings.get(guild_id)
            if settings.review_channel_id is None:
                continue
            day = now.astimezone(settings.zone).date().isoformat()
            if not await self.services.scheduled_posts.claim(guild_id, NUDGE_KIND, day):
                continue
            listed = requests[: rules.nudge_max_listed]
            try:
                message = await self.send_nudge(settings, listed, len(requests), now)
            except (DomainError, discord.NotFound, discord.Forbidden):
                # The channel is gone or closed to the bot: skip today, try again tomorrow.
                log.warning("Review channel of guild %s unusable for the nudge", guild_id)
                await self.services.scheduled_posts.mark_sent(guild_id, NUDGE_KIND, day)
                continue
            except discord.HTTPException:
                log.warning("Nudge for guild %s failed; will retry", guild_id, exc_info=True)
                await self.services.scheduled_posts.release(guild_id, NUDGE_KIND, day)
                continue
            await self.portfolio.mark_nudged([r.id for r in listed], now)
            await self.services.scheduled_posts.mark_sent(guild_id, NUDGE_KIND, day, message.id)

    async def send_nudge(
        self, settings: GuildSettings, requests: list[Request], count: int, now: datetime
    ) -> discord.Message:
        channel = await self.publisher.review_channel(settings)
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
        embed = nudge_embed(requests, count, now, self.portfolio.rubric)
        if isinstance(channel, discord.ForumChannel):
            created = await channel.create_thread(
                name=f"Waiting for a reviewer ({now.date().isoformat()})",
                content=content,
                embed=embed,
                allowed_mentions=mentions,
            )
            return created.message
        return await channel.send(content, embed=embed, allowed_mentions=mentions)

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
