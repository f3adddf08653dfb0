"""Scheduled challenge posts: the daily challenge, weekly starts and results, the month's top.

Each job asks the service what is due and hands each post to the one delivery helper
(bot/delivery.py) under its (server, kind, period) key, so a restart neither loses nor
repeats a post. A weekly challenge created to start now is posted at once through the same
path (`start_weekly`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import discord

from bot.app import MentorBot
from bot.delivery import ChannelPost, Destination, Outcome
from bot.discord_limits import ARCHIVE_AFTER_DAY, THREAD_ALREADY_CREATED, THREAD_NAME
from bot.scheduler import Job
from bot.services.challenges.daily import DAILY_KIND
from bot.services.challenges.model import DailyPost, DueDaily, MonthTop, Weekly, WeeklyResults
from bot.services.challenges.service import MONTH_TOP_KIND
from bot.services.challenges.weekly import RESULTS_KIND, START_KIND
from bot.services.scheduled_posts import PostKey
from bot.ui.replies import clip
from cogs.challenges._daily import daily_view
from cogs.challenges._embeds import (
    daily_embed,
    daily_marker,
    month_top_embed,
    results_embed,
    results_marker,
    weekly_embed,
    weekly_marker,
)

log = logging.getLogger(__name__)


def where(channel_id: int, post: DueDaily | Weekly | MonthTop) -> dict[str, int]:
    return {"guild_id": post.guild_id, "channel": channel_id}


class ChallengeJobs:
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.challenges = bot.services.challenges

    def jobs(self) -> dict[str, Job]:
        """In the order they run within one tick."""
        return {
            "challenges:daily": self.post_due_dailies,
            "challenges:weekly-start": self.start_due_weeklies,
            "challenges:weekly-results": self.post_due_results,
            "challenges:month-top": self.post_due_month_tops,
        }

    def _channel(self, channel_id: int, guild_id: int) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(channel_id, guild_id=guild_id)

    async def _thread(self, message: discord.Message, name: str) -> int | None:
        """The post's discussion thread: opened now, or the one an earlier try opened."""
        if message.thread is not None:
            return message.thread.id
        try:
            thread = await message.create_thread(
                name=clip(name, THREAD_NAME), auto_archive_duration=ARCHIVE_AFTER_DAY
            )
        except discord.HTTPException as error:
            if error.code == THREAD_ALREADY_CREATED:
                return message.id  # Discord gives a message's thread the message's id
            log.warning("Could not open a thread under message %s", message.id, exc_info=True)
            return None
        return thread.id

    # --- The daily challenge -----------------------------------------------------------

    async def post_due_dailies(self, now: datetime) -> None:
        for due in await self.challenges.daily.due(now):
            await self.post_daily(due)

    async def post_daily(self, due: DueDaily) -> bool:
        """Post and record one server's daily challenge; False if not posted."""
        prepared: list[DailyPost] = []

        async def build() -> list[Destination]:
            post = await self.challenges.daily.prepare(due.guild_id, due.day)
            prepared.append(post)
            closes = self.services.clock.now() + timedelta(
                hours=self.services.settings.challenge_daily_open_hours
            )
            message = {"embed": daily_embed(post, closes), "view": daily_view(post)}
            return [ChannelPost(daily_marker(due.day), message, **where(due.channel_id, due))]

        async def after(message: discord.Message, _: int) -> None:
            post = prepared[0]
            thread_id = await self._thread(message, f"Daily {due.day}: {post.challenge.title}")
            await self.challenges.daily.record_posted(
                post.id, due.channel_id, message.id, thread_id
            )

        key = PostKey(due.guild_id, DAILY_KIND, due.day)
        sent = await self.bot.delivery.deliver(key, build, after, what="the daily challenge")
        return sent.outcome is Outcome.SENT

    async def edit_counts(self, post_id: int) -> None:
        """Show a daily post's answer counts as they are now (see `LiveCounts`)."""
        post = await self.challenges.daily.get_any(post_id)
        if post.channel_id is None or post.message_id is None:
            return
        message = self._channel(post.channel_id, post.guild_id).get_partial_message(post.message_id)
        await message.edit(embed=daily_embed(post))

    # --- Weekly challenges ---------------------------------------------------------------

    async def start_due_weeklies(self, now: datetime) -> None:
        for weekly in await self.challenges.weekly.due_starts(now):
            await self.start_weekly(weekly)

    async def start_weekly(self, weekly: Weekly) -> bool:
        """Post a weekly challenge whose start has come, exactly once."""
        start = await self.challenges.weekly.start(weekly)
        if start is None:
            return False
        channel_id = start.channel_id

        async def build() -> list[Destination]:
            message = {"embed": weekly_embed(start.weekly)}
            return [ChannelPost(weekly_marker(weekly.id), message, **where(channel_id, weekly))]

        async def after(message: discord.Message, _: int) -> None:
            thread_id = await self._thread(message, f"Weekly: {weekly.title}")
            await self.challenges.weekly.mark_started(weekly.id, channel_id, message.id, thread_id)

        key = PostKey(weekly.guild_id, START_KIND, str(weekly.id))
        sent = await self.bot.delivery.deliver(key, build, after, what="a weekly challenge")
        return sent.outcome is Outcome.SENT

    async def post_due_results(self, now: datetime) -> None:
        for weekly in await self.challenges.weekly.due_results(now):
            await self.post_results(weekly)

    async def post_results(self, weekly: Weekly) -> bool:
        """Close a weekly challenge and post its results, exactly once."""
        closed: list[WeeklyResults] = []

        async def build() -> list[Destination]:
            results = await self.challenges.weekly.close(weekly.guild_id, weekly.id)
            closed.append(results)
            channel_id = weekly.channel_id or (
                (await self.services.guild_settings.get(weekly.guild_id)).challenge_channel_id
            )
            if channel_id is None:
                return []
            message = {"embed": results_embed(results)}
            return [ChannelPost(results_marker(weekly.id), message, **where(channel_id, weekly))]

        async def after(message: discord.Message, _: int) -> None:
            await self.challenges.weekly.mark_results_posted(weekly.id)

        key = PostKey(weekly.guild_id, RESULTS_KIND, str(weekly.id))
        sent = await self.bot.delivery.deliver(
            key, build, after, what="a weekly challenge's results"
        )
        if sent.outcome is Outcome.SKIPPED:
            await self.challenges.weekly.mark_results_posted(weekly.id)  # nothing more to do
        if sent.done and closed:
            await self.edit_weekly_post(closed[0].weekly)
        return sent.outcome is Outcome.SENT

    async def edit_weekly_post(self, weekly: Weekly) -> None:
        """Show a weekly challenge's post as the challenge is now (extended, cancelled...)."""
        if weekly.channel_id is None or weekly.message_id is None:
            return
        try:
            await (
                self._channel(weekly.channel_id, weekly.guild_id)
                .get_partial_message(weekly.message_id)
                .edit(embed=weekly_embed(weekly))
            )
        except discord.HTTPException:
            log.info("Could not update weekly post %s", weekly.message_id, exc_info=True)

    # --- The month's top members -----------------------------------------------------------

    async def post_due_month_tops(self, now: datetime) -> None:
        for top in await self.challenges.due_month_tops(now):
            await self.post_month_top(top)

    async def post_month_top(self, top: MonthTop) -> bool:
        async def build() -> list[Destination]:
            if not top.standings:
                return []
            embed = month_top_embed(top.month, top.standings)
            return [ChannelPost(embed.title or "", {"embed": embed}, **where(top.channel_id, top))]

        key = PostKey(top.guild_id, MONTH_TOP_KIND, top.month)
        sent = await self.bot.delivery.deliver(key, build, what="the month's top members")
        return sent.outcome is Outcome.SENT
