"""Modals, buttons and views of the roadmap: the check-in form, its blocker buttons,
leaderboard pages and the leave confirmation."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import DomainError
from bot.markdown import clip_escaped
from bot.services.roadmap.checkins import CheckinRecord
from bot.services.roadmap.content import Milestone
from bot.services.roadmap.leaderboard import Board, Period
from bot.ui.base import MentorModal, MentorView
from bot.ui.errors import report_error
from bot.ui.replies import NO_PINGS, clip, in_time, reply
from cogs.roadmap._embeds import checkin_embed, leaderboard_embed

if TYPE_CHECKING:
    from bot.app import MentorBot

log = logging.getLogger(__name__)

TEXT_MAX = 4000
LABEL_MAX, OPTION_MAX = 45, 100
ASK_COG, ASK_METHOD = "Ask", "ask_from_button"
BOARDS = {b.value for b in Board}
PERIODS = {p.value for p in Period}


def _bot(interaction: discord.Interaction) -> MentorBot:
    return interaction.client  # type: ignore[return-value]


def _text_input(
    custom_id: str,
    *,
    paragraph: bool,
    required: bool,
    max_length: int,
    default: str | None = None,
    placeholder: str | None = None,
) -> discord.ui.TextInput[Any]:
    return discord.ui.TextInput(
        custom_id=custom_id,
        style=discord.TextStyle.paragraph if paragraph else discord.TextStyle.short,
        required=required,
        max_length=max_length,
        default=clip(default, max_length) if default else None,
        placeholder=placeholder,
    )


class CheckinForm(MentorModal):
    """What I did, minutes, blockers, next step, and (optionally) a milestone done."""

    def __init__(self, text_max: int, milestones: list[Milestone]) -> None:
        super().__init__(title="Check in", custom_id="roadmap:checkin-form", timeout=900)
        self.did = _text_input("did", paragraph=True, required=True, max_length=text_max)
        self.minutes = _text_input(
            "minutes", paragraph=False, required=False, max_length=10, placeholder="45, or 1h30"
        )
        self.blockers = _text_input("blockers", paragraph=True, required=False, max_length=text_max)
        self.next_step = _text_input("next", paragraph=True, required=False, max_length=text_max)
        self.add_item(discord.ui.Label(text="What did you do?", component=self.did))
        self.add_item(discord.ui.Label(text="Minutes spent", component=self.minutes))
        self.add_item(discord.ui.Label(text="Anything blocking you?", component=self.blockers))
        self.add_item(discord.ui.Label(text="Your next step", component=self.next_step))
        self.milestone: discord.ui.Select[Any] | None = None
        if milestones:
            self.milestone = discord.ui.Select(
                custom_id="milestone",
                placeholder="Did you finish a milestone?",
                min_values=0,
                max_values=1,
                required=False,
                options=[
                    discord.SelectOption(
                        label=clip(m.title, OPTION_MAX),
                        value=m.key,
                        description=clip(f"Phase {m.phase} · {m.skill}", OPTION_MAX),
                    )
                    for m in milestones[:25]
                ],
            )
            self.add_item(
                discord.ui.Label(
                    text="Milestone done (optional)",
                    description="Open milestones of your track, current phase first",
                    component=self.milestone,
                )
            )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        milestone = self.milestone.values[0] if self.milestone and self.milestone.values else None
        await send_checkin(
            interaction,
            did=self.did.value,
            minutes=self.minutes.value,
            blockers=self.blockers.value,
            next_step=self.next_step.value,
            milestone=milestone,
        )


class EditForm(MentorModal):
    """Today's check-in, filled in, to correct."""

    def __init__(self, text_max: int, record: CheckinRecord) -> None:
        super().__init__(title="Edit today's check-in", timeout=900)
        self.record = record
        self.did = _text_input(
            "did", paragraph=True, required=True, max_length=text_max, default=record.did
        )
        self.minutes = _text_input(
            "minutes", paragraph=False, required=False, max_length=10, default=str(record.minutes)
        )
        self.blockers = _text_input(
            "blockers", paragraph=True, required=False, max_length=text_max, default=record.blockers
        )
        self.next_step = _text_input(
            "next", paragraph=True, required=False, max_length=text_max, default=record.next_step
        )
        self.add_item(discord.ui.Label(text="What did you do?", component=self.did))
        self.add_item(discord.ui.Label(text="Minutes spent", component=self.minutes))
        self.add_item(discord.ui.Label(text="Anything blocking you?", component=self.blockers))
        self.add_item(discord.ui.Label(text="Your next step", component=self.next_step))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        record = await _bot(interaction).services.roadmap.checkins.edit(
            interaction.guild_id or 0,
            interaction.user.id,
            self.record.id,
            self.did.value,
            self.minutes.value,
            self.blockers.value,
            self.next_step.value,
        )
        await reply(
            interaction,
            f"Updated your check-in for {record.day.isoformat()} ({record.minutes} min).",
        )


async def send_checkin(
    interaction: discord.Interaction,
    *,
    did: str,
    minutes: str | None,
    blockers: str | None = None,
    next_step: str | None = None,
    milestone: str | None = None,
) -> None:
    """Store a check-in and answer in the channel, with the blocker buttons when needed.

    A check-in waiting for the database (another program holding SQLite's write lock) is
    acknowledged in time and answered once it is written."""
    result = await in_time(
        interaction,
        _bot(interaction).services.roadmap.checkins.checkin(
            interaction.guild_id or 0,
            interaction.user.id,
            did,
            minutes,
            blockers,
            next_step,
            milestone,
        ),
        ephemeral=False,
    )
    view = None
    if result.has_blockers:
        view = discord.ui.View(timeout=None)
        view.add_item(BlockerButton(interaction.user.id, result.checkin_id, "ask"))
        view.add_item(BlockerButton(interaction.user.id, result.checkin_id, "mentors"))
    kwargs: dict[str, Any] = {"embed": checkin_embed(result, interaction.user.id, did.strip())}
    if view is not None:
        kwargs["view"] = view
    message_id = await reply(interaction, ephemeral=False, **kwargs)
    if message_id is not None and interaction.channel_id is not None:
        # Remembered so that erasing the member deletes the post quoting them.
        posts = _bot(interaction).services.member_posts
        guild_id, channel_id = interaction.guild_id or 0, interaction.channel_id
        await posts.record(guild_id, interaction.user.id, channel_id, message_id, "checkin")


class BlockerButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"roadmap:blocker:(?P<action>ask|mentors):(?P<user>\d+):(?P<checkin>\d+)",
):
    """Send a check-in's blocker on to /ask or to the mentors; only its author may."""

    def __init__(self, user_id: int, checkin_id: int, action: str) -> None:
        label = "Ask Mentor" if action == "ask" else "Tell the mentors"
        style = discord.ButtonStyle.primary if action == "ask" else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                custom_id=f"roadmap:blocker:{action}:{user_id}:{checkin_id}",
            )
        )
        self.user_id, self.checkin_id, self.action = user_id, checkin_id, action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> BlockerButton:
        return cls(int(match["user"]), int(match["checkin"]), match["action"])

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            if interaction.user.id != self.user_id:
                await reply(interaction, "Only the member who checked in can pass this on.")
                return
            if self.action == "ask":
                await self._ask(interaction)
            else:
                await self._tell_mentors(interaction)
        except Exception as error:
            await report_error(interaction, error)

    async def _ask(self, interaction: discord.Interaction) -> None:
        bot = _bot(interaction)
        record = await bot.services.roadmap.checkins.blocker(
            interaction.guild_id or 0, self.user_id, self.checkin_id
        )
        ask = bot.get_cog(ASK_COG)
        handler = getattr(ask, ASK_METHOD, None)
        if handler is None:
            await reply(interaction, "/ask is not available on this server yet.")
            return
        await handler(interaction, question=record.blockers or "")

    async def _tell_mentors(self, interaction: discord.Interaction) -> None:
        bot = _bot(interaction)
        guild_id = interaction.guild_id or 0
        checkins = bot.services.roadmap.checkins
        record = await checkins.blocker(guild_id, self.user_id, self.checkin_id)
        settings = await bot.services.guild_settings.get(guild_id)
        if settings.qa_channel_id is None:
            await reply(
                interaction,
                "This server has no Q&A channel for the mentors yet: a moderator can set one "
                "with /config channel.",
            )
            return
        if not await checkins.mark_escalated(guild_id, self.user_id, self.checkin_id):
            await reply(interaction, "The mentors already have this blocker.")
            return
        embed = discord.Embed(
            title="A member is blocked",
            description=clip_escaped(record.blockers or "", 4096, one_line=False),
            colour=discord.Colour.orange(),
        )
        embed.add_field(
            name="Working on", value=clip_escaped(record.did, 1024, one_line=False), inline=False
        )
        if record.next_step:
            embed.add_field(
                name="Next step",
                value=clip_escaped(record.next_step, 1024, one_line=False),
                inline=False,
            )
        embed.set_footer(text=f"From a check-in on {record.day.isoformat()}")
        channel = bot.get_partial_messageable(settings.qa_channel_id, guild_id=guild_id)
        try:
            post = await channel.send(
                f"<@{self.user_id}> could use a hand.", embed=embed, allowed_mentions=NO_PINGS
            )
        except discord.HTTPException:
            await checkins.unmark_escalated(guild_id, self.user_id, self.checkin_id)
            raise
        await bot.services.member_posts.record(
            guild_id, self.user_id, settings.qa_channel_id, post.id, "blocker"
        )
        await reply(interaction, f"Sent to the mentors in <#{settings.qa_channel_id}>.")


class LeaderboardButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"roadmap:lb:(?P<board>[a-z]+):(?P<period>[a-z]+):(?P<page>\d{1,6}):(?P<dir>prev|next)",
):
    """Previous/next page of a leaderboard; works after a restart too."""

    def __init__(self, board: str, period: str, page: int, direction: str, disabled: bool) -> None:
        super().__init__(
            discord.ui.Button(
                label="◀ Previous" if direction == "prev" else "Next ▶",
                style=discord.ButtonStyle.secondary,
                custom_id=f"roadmap:lb:{board}:{period}:{page}:{direction}",
                disabled=disabled,
            )
        )
        self.board, self.period, self.page = board, period, page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> LeaderboardButton:
        return cls(match["board"], match["period"], int(match["page"]), match["dir"], False)

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            if self.board not in BOARDS or self.period not in PERIODS:
                raise DomainError("That leaderboard no longer exists.")
            page = await _bot(interaction).services.roadmap.leaderboard.page(
                interaction.guild_id or 0, self.board, self.period, self.page
            )
            await interaction.response.edit_message(
                embed=leaderboard_embed(page),
                view=leaderboard_view(page.board, page.period, page.page, page.has_next),
            )
        except Exception as error:
            await report_error(interaction, error)


def leaderboard_view(board: str, period: str, page: int, has_next: bool) -> discord.ui.View | None:
    if page <= 1 and not has_next:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(LeaderboardButton(board, period, max(1, page - 1), "prev", page <= 1))
    view.add_item(LeaderboardButton(board, period, page + 1, "next", not has_next))
    return view


class LeaveConfirm(MentorView):
    """Leaving deletes a member's roadmap data here, so it asks first."""

    def __init__(self, owner_id: int) -> None:
        super().__init__(owner_id=owner_id, timeout=120)

    @discord.ui.button(label="Leave the roadmap", style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await _bot(interaction).services.roadmap.members.leave(
            interaction.guild_id or 0, interaction.user.id
        )
        self.stop()
        await interaction.response.edit_message(
            content="You left the roadmap; your check-ins and streaks here are deleted. "
            "/roadmap start whenever you want to begin again.",
            view=None,
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing changed.", view=None)
