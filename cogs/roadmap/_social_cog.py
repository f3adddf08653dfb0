"""/buddy, /remind and /profile."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.timezones import search_timezones
from bot.ui.replies import reply


class SocialCog(commands.Cog):
    buddy = app_commands.Group(name="buddy", description="Accountability buddies", guild_only=True)
    remind = app_commands.Group(
        name="remind", description="A daily reminder to check in", guild_only=True
    )
    profile = app_commands.Group(
        name="profile", description="Your time zone and weekly goal", guild_only=True
    )

    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.roadmap = bot.services.roadmap

    # --- /buddy -----------------------------------------------------------------------

    @buddy.command(name="request", description="Ask a member to be your accountability buddy")
    @app_commands.describe(member="Who you'd like as a buddy")
    async def buddy_request(self, interaction: discord.Interaction, member: discord.Member) -> None:
        result = await self.roadmap.buddies.request(
            interaction.guild_id or 0, interaction.user.id, member.id, member.bot
        )
        if result.paired:
            await reply(
                interaction,
                f"<@{interaction.user.id}> and <@{member.id}> are now accountability buddies. "
                "If one of you misses two days in a row, the other hears about it.",
                ephemeral=False,
                allowed_mentions=discord.AllowedMentions(users=[member]),
            )
            return
        days = self.bot.services.settings.roadmap_buddy_request_days
        if not result.ping:
            await reply(
                interaction,
                f"You already asked <@{member.id}> today, so I won't mention them again. "
                f"Your request stays open for {days} days; they see it in /buddy status.",
            )
            return
        await reply(
            interaction,
            f"<@{member.id}>, <@{interaction.user.id}> would like you as their accountability "
            f"buddy. Answer with /buddy accept within {days} days.",
            ephemeral=False,
            allowed_mentions=discord.AllowedMentions(users=[member]),
        )

    @buddy.command(name="accept", description="Accept a buddy request")
    @app_commands.describe(member="Whose request (needed when several members asked)")
    async def buddy_accept(
        self, interaction: discord.Interaction, member: discord.Member | None = None
    ) -> None:
        buddy_id = await self.roadmap.buddies.accept(
            interaction.guild_id or 0, interaction.user.id, member.id if member else None
        )
        await reply(
            interaction,
            f"<@{interaction.user.id}> and <@{buddy_id}> are now accountability buddies.",
            ephemeral=False,
            allowed_mentions=discord.AllowedMentions(users=[discord.Object(buddy_id)]),
        )

    @buddy.command(name="end", description="End your buddy pairing")
    async def buddy_end(self, interaction: discord.Interaction) -> None:
        former = await self.roadmap.buddies.end(interaction.guild_id or 0, interaction.user.id)
        await reply(interaction, f"You and <@{former}> are no longer buddies.")

    @buddy.command(name="status", description="Your buddy and pending requests")
    async def buddy_status(self, interaction: discord.Interaction) -> None:
        status = await self.roadmap.buddies.status(interaction.guild_id or 0, interaction.user.id)
        lines = []
        if status.buddy_id is None:
            lines.append("You have no buddy yet: /buddy request @member asks someone.")
        else:
            last = status.buddy_last_day.isoformat() if status.buddy_last_day else "never"
            lines.append(
                f"Your buddy: <@{status.buddy_id}> · streak {status.buddy_streak} · "
                f"last check-in {last}"
            )
        if status.outgoing_to:
            lines.append(f"You asked <@{status.outgoing_to}>; waiting for an answer.")
        if status.incoming_from:
            asked = ", ".join(f"<@{u}>" for u in status.incoming_from[:10])
            lines.append(f"Waiting for your answer: {asked} (/buddy accept).")
        await reply(interaction, "\n".join(lines))

    # --- /remind ----------------------------------------------------------------------

    @remind.command(name="on", description="A daily DM on days you haven't checked in")
    @app_commands.describe(
        time="Your local time, HH:MM (default 19:00)",
        quiet="Quiet hours with no reminders, like 22:00-07:00",
    )
    async def remind_on(
        self,
        interaction: discord.Interaction,
        time: app_commands.Range[str, 1, 10] | None = None,
        quiet: app_commands.Range[str, 1, 20] | None = None,
    ) -> None:
        settings = await self.roadmap.reminders.turn_on(
            interaction.guild_id or 0, interaction.user.id, time, quiet
        )
        quiet_text = (
            f", never between {settings.quiet_start} and {settings.quiet_end}"
            if settings.quiet_start
            else ""
        )
        await reply(
            interaction,
            f"Reminders on: {settings.time} ({settings.timezone}) on days without a check-in"
            f"{quiet_text}. If your DMs are closed I'll mention you in the check-in channel.",
        )

    @remind.command(name="off", description="Stop the daily reminder")
    async def remind_off(self, interaction: discord.Interaction) -> None:
        was_on = await self.roadmap.reminders.turn_off(
            interaction.guild_id or 0, interaction.user.id
        )
        await reply(interaction, "Reminders off." if was_on else "Reminders were already off.")

    # --- /profile ---------------------------------------------------------------------

    @profile.command(name="timezone", description="Your time zone: days count by your clock")
    @app_commands.describe(name="An IANA name such as Europe/Berlin")
    async def profile_timezone(
        self, interaction: discord.Interaction, name: app_commands.Range[str, 1, 64]
    ) -> None:
        zone = await self.roadmap.members.set_timezone(
            interaction.guild_id or 0, interaction.user.id, name
        )
        await reply(
            interaction,
            f"Your time zone is {zone}. Past check-ins keep the day they were made on.",
        )

    @profile_timezone.autocomplete("name")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in search_timezones(current)]

    @profile.command(name="goal", description="Check-in days per week you aim for (7: daily)")
    @app_commands.describe(days="1 to 7; 7 keeps a daily streak, fewer a weekly target")
    async def profile_goal(
        self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 7]
    ) -> None:
        goal = await self.roadmap.members.set_goal(
            interaction.guild_id or 0, interaction.user.id, days
        )
        if goal == 7:
            text = "Daily streak: every day counts, a missed day spends a freeze."
        else:
            text = (
                f"Weekly target: {goal} check-in days a week. Rest days don't break your "
                "streak; a week that falls short spends freezes."
            )
        await reply(interaction, text)
