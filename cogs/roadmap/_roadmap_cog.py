"""/roadmap: enrol, view, milestones, pause/resume/leave, and the moderators' tools."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.discord_limits import CHOICE_NAME, CHOICES
from bot.errors import DomainError
from bot.markdown import inline
from bot.parts import Parts
from bot.services.roadmap.catalog import ImportMode
from bot.services.roadmap.roles import RoleKind, RoleMapping
from bot.timezones import search_timezones
from bot.ui.checks import moderator_only
from bot.ui.confirm import confirm_view
from bot.ui.replies import clip, reply
from bot.ui.reward_roles import check_reward_mapping
from cogs.roadmap._embeds import milestone_text, roadmap_embed
from cogs.roadmap._jobs import RoadmapJobs
from cogs.roadmap._views import (
    FORMS,
    LEAVE,
    LEAVE_CONFIRMATION,
    BlockerButton,
    LeaderboardButton,
)

IMPORT_MODES = [
    app_commands.Choice(name="Replace the built-in roadmap", value=ImportMode.REPLACE.value),
    app_commands.Choice(name="Extend the built-in roadmap", value=ImportMode.EXTEND.value),
    app_commands.Choice(name="Go back to the built-in roadmap", value=ImportMode.BUILTIN.value),
]


def mapping_lines(mappings: list[RoleMapping]) -> str:
    if not mappings:
        return "No roles mapped yet."
    lines = []
    for m in mappings:
        what = f"Phase {m.level}" if m.kind is RoleKind.PHASE else f"Streak {m.level} days"
        note = ""
        if m.broken:
            note = " ⚠️ refused by Discord; map it again once I can manage it"
        elif m.suspended:
            note = " ⛔ suspended: it gained a dangerous permission"
        lines.append(f"{what}: <@&{m.role_id}>{note}")
    return "\n".join(lines)


@app_commands.guild_only()
class RoadmapCog(
    commands.GroupCog, group_name="roadmap", description="Follow the 12-month roadmap"
):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.roadmap = bot.services.roadmap
        self.parts = Parts(
            components=(BlockerButton, LeaderboardButton),
            forms=FORMS,
            confirmations=(LEAVE_CONFIRMATION,),
            jobs=RoadmapJobs(bot).jobs(),
        )
        super().__init__()

    async def cog_load(self) -> None:
        # Members of servers whose roadmap content changed since the last start follow it
        # before any job runs: nothing they ticked is lost, phases and roles follow.
        await self.roadmap.catalog.sync_members()
        self.bot.add_parts(self.parts)

    async def cog_unload(self) -> None:
        self.bot.remove_parts(self.parts)

    @app_commands.command(name="start", description="Enrol on a track of the roadmap")
    @app_commands.describe(
        track="AI Engineer (products, LLMs, agents) or ML Engineer (models, optimisation)",
        start_date="YYYY-MM-DD if you started earlier (default: today)",
        timezone="Your IANA time zone, e.g. Europe/Berlin (default: the server's)",
    )
    async def start(
        self,
        interaction: discord.Interaction,
        track: str,
        start_date: app_commands.Range[str, 1, 20] | None = None,
        timezone: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        enrolment = await self.roadmap.members.start(
            interaction.guild_id, interaction.user.id, track, start_date, timezone
        )
        await reply(
            interaction,
            f"Welcome to the **{inline(enrolment.track.name)}** track! You are in month "
            f"{enrolment.month} of 12, phase 1: **{inline(enrolment.phase.name)}**. "
            f"Days count in {enrolment.timezone}.\n"
            "Next: /checkin when you've worked on it, /roadmap view to see the plan, "
            "/remind on for a daily nudge.",
        )

    @start.autocomplete("track")
    async def track_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        roadmap = await self.roadmap.catalog.get(interaction.guild_id or 0)
        needle = current.lower()
        return [
            app_commands.Choice(name=clip(f"{t.name}: {t.summary}", CHOICE_NAME), value=t.key)
            for t in roadmap.tracks
            if needle in t.key or needle in t.name.lower()
        ][:CHOICES]

    @start.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in search_timezones(current)]

    @app_commands.command(name="view", description="Where you (or a member) are on the roadmap")
    @app_commands.describe(member="Someone else's roadmap (default: yours)")
    async def view(
        self, interaction: discord.Interaction, member: discord.Member | None = None
    ) -> None:
        target = member or interaction.user
        result = await self.roadmap.members.view(
            interaction.guild_id, target.id, own=target.id == interaction.user.id
        )
        await reply(interaction, embed=roadmap_embed(result))

    @app_commands.command(name="milestone", description="Mark a milestone done, or undo it")
    @app_commands.describe(milestone="Start typing to pick one of your track's milestones")
    @app_commands.choices(
        action=[
            app_commands.Choice(name="Done", value="done"),
            app_commands.Choice(name="Undo", value="undo"),
        ]
    )
    async def milestone(
        self,
        interaction: discord.Interaction,
        milestone: app_commands.Range[str, 1, 100],
        action: str = "done",
    ) -> None:
        result = await self.roadmap.members.set_milestone(
            interaction.guild_id, interaction.user.id, milestone, action == "done"
        )
        await reply(interaction, milestone_text(result))

    @milestone.autocomplete("milestone")
    async def milestone_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        choices = await self.roadmap.members.milestone_choices(
            interaction.guild_id or 0, interaction.user.id, current
        )
        return [app_commands.Choice(name=label, value=key) for label, key in choices]

    @app_commands.command(name="pause", description="Pause: no reminders, streak and plan wait")
    async def pause(self, interaction: discord.Interaction) -> None:
        since = await self.roadmap.members.pause(interaction.guild_id, interaction.user.id)
        await reply(
            interaction,
            f"Paused from {since.isoformat()}. Your streak and the plan clock wait for you; "
            "/roadmap resume when you're back.",
        )

    @app_commands.command(name="resume", description="Pick up where you paused")
    async def resume(self, interaction: discord.Interaction) -> None:
        days = await self.roadmap.members.resume(interaction.guild_id, interaction.user.id)
        await reply(
            interaction,
            f"Welcome back! The pause lasted {days} day{'s' if days != 1 else ''}; your plan "
            "moved on by as much.",
        )

    @app_commands.command(name="leave", description="Leave the roadmap (asks first)")
    async def leave(self, interaction: discord.Interaction) -> None:
        await self.roadmap.members.view(interaction.guild_id, interaction.user.id)
        await reply(
            interaction,
            "Leaving deletes your check-ins, streaks and milestones in this server. Sure?",
            view=confirm_view(LEAVE, interaction.user.id, "Leave the roadmap"),
        )

    @app_commands.command(name="import", description="Moderators: use this server's own roadmap")
    @app_commands.describe(
        mode="Replace or extend the built-in roadmap, or go back to it",
        file="A .toml or .json file in the format of content/roadmap/roadmap.toml",
    )
    @app_commands.choices(mode=IMPORT_MODES)
    @moderator_only()
    async def import_(
        self,
        interaction: discord.Interaction,
        mode: str,
        file: discord.Attachment | None = None,
    ) -> None:
        chosen = ImportMode(mode)
        if chosen is not ImportMode.BUILTIN:
            if file is None:
                raise DomainError("Attach the roadmap file (.toml or .json).")
            if file.size > self.bot.services.settings.roadmap_import_max_bytes:
                raise DomainError(f"{clip(file.filename, 60)} is too large.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read() if file is not None and chosen is not ImportMode.BUILTIN else None
        result = await self.roadmap.catalog.import_file(
            interaction.guild_id,
            interaction.user.id,
            file.filename if file else "",
            data,
            chosen,
        )
        what = {
            ImportMode.REPLACE: "This server now follows its own roadmap",
            ImportMode.EXTEND: "The built-in roadmap is extended",
            ImportMode.BUILTIN: "Back to the built-in roadmap",
        }[chosen]
        archived = (
            f" {result.milestones_archived} ticked milestone(s) it no longer offers are "
            "archived: members keep them in their history."
            if result.milestones_archived
            else ""
        )
        await reply(
            interaction,
            f"{what}: {result.roadmap.summary()}. {result.members_moved} member(s) changed "
            f"phase.{archived}",
        )

    @app_commands.command(name="role", description="Moderators: map a phase or streak to a role")
    @app_commands.describe(
        kind="Phase roles follow progress; streak roles follow 7, 30 and 100-day streaks",
        level="The phase number, or the streak length (7, 30 or 100)",
        role="Leave empty to remove the mapping (needs Manage Roles, and a role below yours)",
    )
    @app_commands.choices(
        kind=[
            app_commands.Choice(name="Phase", value=RoleKind.PHASE.value),
            app_commands.Choice(name="Streak", value=RoleKind.STREAK.value),
        ]
    )
    @moderator_only()
    async def role(
        self,
        interaction: discord.Interaction,
        kind: str,
        level: app_commands.Range[int, 1, 100],
        role: discord.Role | None = None,
    ) -> None:
        guild = interaction.guild
        if guild is None or not isinstance(interaction.user, discord.Member):
            raise app_commands.NoPrivateMessage()
        current = await self.roadmap.roles.mapping(guild.id, kind, level)
        replaced = guild.get_role(current) if current is not None else None
        check_reward_mapping(interaction.user, guild, role, replaced)
        mappings = await self.roadmap.roles.set_mapping(
            interaction.guild_id, kind, level, role.id if role else None
        )
        await reply(
            interaction,
            f"Roles are updated within a minute; all members are checked daily.\n"
            f"{mapping_lines(mappings)}",
        )

    @app_commands.command(
        name="recompute", description="Moderators: check streaks and totals against history"
    )
    @moderator_only()
    async def recompute(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await self.roadmap.maintenance.recompute(interaction.guild_id)
        if report.repaired == 0:
            text = f"Checked {report.members} members: everything agrees with their history."
        else:
            shown = "\n".join(f"- {d}" for d in report.differences)
            text = f"Checked {report.members} members; repaired {report.repaired}:\n{shown}"
        await reply(interaction, text)
