"""Scheduled roadmap work: reminders, buddy nudges, the weekly digest and role sync.

Each job asks its service what is due (indexed queries) and hands each post to the one
delivery helper (bot/delivery.py) under its (server, kind, period) key: a restart neither
loses nor repeats anything.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime

import discord

from bot.app import MentorBot
from bot.delivery import ChannelPost, Destination, DirectMessage, Outcome
from bot.discord_limits import UNKNOWN_MEMBER
from bot.scheduler import Job
from bot.services.roadmap.digest import DIGEST_KIND, DigestDue
from bot.services.roadmap.reminders import NudgeDue, ReminderDue
from bot.services.roadmap.role_sync import MemberGone, RoleRefused
from bot.services.roadmap.roles import NOTICE_KIND as ROLE_NOTICE_KIND
from bot.services.roadmap.roles import RoleNotice
from bot.services.scheduled_posts import NUDGE_KIND, REMIND_KIND, PostKey
from bot.ui.reward_roles import dangerous_permissions
from cogs.roadmap._charts import week_chart_png
from cogs.roadmap._embeds import days, digest_embed

log = logging.getLogger(__name__)


def day_label(day: date) -> str:
    """Monday 2 March: part of a reminder's words, so a retry can tell it from yesterday's."""
    return f"{day:%A} {day.day} {day:%B}"


def dm(user_id: int, marker: str, text: str) -> DirectMessage:
    return DirectMessage(
        marker,
        {"content": text, "allowed_mentions": discord.AllowedMentions.none()},
        user_id=user_id,
    )


def mention(guild_id: int, channel_id: int, user_id: int, marker: str, text: str) -> ChannelPost:
    """The fallback for closed DMs: the same words, pinging the member, in a channel."""
    pings = discord.AllowedMentions(users=[discord.Object(user_id)], roles=False, everyone=False)
    return ChannelPost(
        marker,
        {"content": f"<@{user_id}> {text}", "allowed_mentions": pings},
        guild_id=guild_id,
        channel=channel_id,
    )


def key_tuple(key: PostKey) -> tuple[int, str, str]:
    return key.guild_id, key.kind, key.period


class DiscordRoles:
    """Roles on Discord for the role sync (bot/services/roadmap/role_sync.py): what the
    bot's cache knows, and Discord's answers turned into the sync's terms."""

    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot

    def ready(self, guild_id: int) -> bool:
        return self.bot.get_guild(guild_id) is not None

    def dangerous_now(self, guild_id: int, role_ids: set[int]) -> set[int]:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return set()
        roles = (guild.get_role(role_id) for role_id in role_ids)
        return {role.id for role in roles if role is not None and dangerous_permissions(role)}

    async def is_dangerous(self, guild_id: int, role_id: int) -> bool:
        """Judged on the role as Discord has it now: the cache, or the API if it lacks it."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return False
        role = guild.get_role(role_id)
        if role is None:
            roles = await guild.fetch_roles()
            role = next((r for r in roles if r.id == role_id), None)
        return role is not None and bool(dangerous_permissions(role))

    async def member_roles(self, guild_id: int, user_id: int) -> set[int]:
        try:
            data = await self.bot.http.get_member(guild_id, user_id)
        except discord.NotFound:
            raise MemberGone from None
        return {int(r) for r in data.get("roles", [])}

    async def add(self, guild_id: int, user_id: int, role_id: int) -> None:
        await self._call(self.bot.http.add_role, guild_id, user_id, role_id)

    async def remove(self, guild_id: int, user_id: int, role_id: int) -> None:
        await self._call(self.bot.http.remove_role, guild_id, user_id, role_id)

    async def _call(
        self, call: Callable[..., Awaitable[None]], guild_id: int, user_id: int, role_id: int
    ) -> None:
        try:
            await call(guild_id, user_id, role_id, reason="Roadmap")
        except discord.NotFound as exc:
            raise (MemberGone if exc.code == UNKNOWN_MEMBER else RoleRefused) from None
        except discord.Forbidden:
            raise RoleRefused from None


class RoadmapJobs:
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.services = bot.services
        self.roadmap = bot.services.roadmap
        self.posts = bot.services.scheduled_posts
        self.batch = bot.services.settings.roadmap_job_batch
        self.discord_roles = DiscordRoles(bot)

    def jobs(self) -> dict[str, Job]:
        """In the order they run within one tick."""
        return {
            "roadmap:reminders": self.reminders,
            "roadmap:nudges": self.nudges,
            "roadmap:digest": self.digest,
            "roadmap:roles": self.roles,
        }

    # --- Reminders ---------------------------------------------------------------------

    async def reminders(self, now: datetime) -> None:
        for reminder in await self.roadmap.reminders.due(now, self.batch):
            await self._send_reminder(reminder)

    async def _send_reminder(self, reminder: ReminderDue) -> None:
        """A DM, or (DMs closed) the same words with a mention in the check-in channel."""
        marker = f"Time for today's check-in ({day_label(reminder.day)})"
        streak = f" Your streak is {days(reminder.streak)}." if reminder.streak else ""
        text = f"{marker}: /checkin takes a minute.{streak}"

        async def build() -> list[Destination]:
            found = [dm(reminder.user_id, marker, text)]
            if reminder.checkin_channel_id is not None:
                fallback = text
                if reminder.last_try:
                    fallback += (
                        " Your DMs have been closed for a while, so reminders are now off: "
                        "/remind on after opening them."
                    )
                found.append(
                    mention(
                        reminder.guild_id,
                        reminder.checkin_channel_id,
                        reminder.user_id,
                        marker,
                        fallback,
                    )
                )
            return found

        async def after(message: discord.Message, index: int) -> None:
            await self.roadmap.reminders.finish(reminder, delivered_by_dm=index == 0)

        key = PostKey(reminder.guild_id, REMIND_KIND, reminder.period)
        sent = await self.bot.delivery.deliver(key, build, after, what="a check-in reminder")
        if sent.outcome is Outcome.SKIPPED:
            log.info("Reminder for user %s undelivered", reminder.user_id)
            await self.roadmap.reminders.finish(reminder, delivered_by_dm=False)
        elif sent.outcome is Outcome.HELD and await self.posts.was_sent(*key_tuple(key)):
            await self.roadmap.reminders.skip(reminder)  # done before a restart: move on

    # --- Nudges ------------------------------------------------------------------------

    async def nudges(self, now: datetime) -> None:
        for nudge in await self.roadmap.reminders.due_nudges(now, self.batch):
            await self._send_nudge(nudge)

    async def _send_nudge(self, nudge: NudgeDue) -> None:
        last = day_label(nudge.last_day) if nudge.last_day else "none yet"
        marker = f"<@{nudge.user_id}> hasn't checked in for two days (last check-in: {last})"
        text = f"Your buddy {marker}. A friendly message might help them back on track."

        async def build() -> list[Destination]:
            found = [dm(nudge.buddy_id, marker, text)]
            if nudge.checkin_channel_id is not None:
                found.append(
                    mention(nudge.guild_id, nudge.checkin_channel_id, nudge.buddy_id, marker, text)
                )
            return found

        async def after(message: discord.Message, index: int) -> None:
            await self.roadmap.reminders.finish_nudge(nudge)

        key = PostKey(nudge.guild_id, NUDGE_KIND, nudge.period)
        sent = await self.bot.delivery.deliver(key, build, after, what="a buddy nudge")
        if sent.outcome is Outcome.SKIPPED or (
            sent.outcome is Outcome.HELD and await self.posts.was_sent(*key_tuple(key))
        ):
            await self.roadmap.reminders.finish_nudge(nudge)

    # --- Weekly digest -------------------------------------------------------------------

    async def digest(self, now: datetime) -> None:
        for due in await self.roadmap.digest.due(now):
            await self._post_digest(due)

    async def _post_digest(self, due: DigestDue) -> None:
        async def build() -> list[Destination]:
            digest = await self.roadmap.digest.build(due.guild_id, due.week_start)
            png = week_chart_png(digest.per_day)
            embed = digest_embed(digest, with_image=True)
            message = {
                "embed": embed,
                "file": discord.File(io.BytesIO(png), filename="week.png"),
                "allowed_mentions": discord.AllowedMentions.none(),
            }
            return [
                ChannelPost(
                    embed.title or "", message, guild_id=due.guild_id, channel=due.channel_id
                )
            ]

        key = PostKey(due.guild_id, DIGEST_KIND, due.period)
        await self.bot.delivery.deliver(key, build, what="the weekly digest")

    # --- Roles ---------------------------------------------------------------------------

    async def roles(self, now: datetime) -> None:
        await self.roadmap.role_sync.run(now, self.discord_roles)
        await self._announce_stopped_roles()

    async def _announce_stopped_roles(self) -> None:
        """Tell the moderators about each role stopped or suspended, once, through the
        delivery helper (a failure is tried again at a later tick)."""
        for notice in await self.roadmap.roles.notices_due():
            marker, text = self._role_notice(notice)
            key = PostKey(notice.guild_id, ROLE_NOTICE_KIND, notice.period)
            await self.bot.delivery.to_moderators(key, marker, text)

    def _role_notice(self, notice: RoleNotice) -> tuple[str, str]:
        role = f"<@&{notice.role_id}>"
        when = day_label(notice.since.date())
        if notice.why == "suspended":
            guild = self.bot.get_guild(notice.guild_id)
            found = guild.get_role(notice.role_id) if guild else None
            permissions = ", ".join(dangerous_permissions(found)) if found else ""
            marker = f"On {when} I suspended the reward role {role}"
            return marker, (
                f"{marker}: it now has {permissions or 'permissions no reward may give'}, so "
                "I won't give it to anyone, nor take it from those who have it. Remove those "
                "permissions and map it again with /roadmap role, or map another role."
            )
        marker = f"On {when} I stopped using the reward role {role}"
        return marker, (
            f"{marker}: Discord refused to give or take it. I need the Manage Roles "
            "permission, and my own role must be above it. Map it again with /roadmap role "
            "once that is fixed."
        )
