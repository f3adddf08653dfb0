"""Modals, buttons and views of the roadmap: the check-in form, its blocker buttons,
leaderboard pages and the leave confirmation."""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.app import bot_of
from bot.discord_limits import EMBED_DESCRIPTION, FIELD_VALUE, OPTION_TEXT, SELECT_OPTIONS
from bot.errors import DomainError
from bot.markdown import clip_escaped
from bot.services.roadmap.checkins import CheckinRecord
from bot.services.roadmap.content import Milestone
from bot.services.roadmap.leaderboard import Board, Period
from bot.ui.asking import Asker
from bot.ui.base import ReportsErrors
from bot.ui.confirm import Confirmation
from bot.ui.forms import Answers, Form
from bot.ui.replies import NO_PINGS, clip, in_time, reply
from cogs.roadmap._embeds import checkin_embed, leaderboard_embed

log = logging.getLogger(__name__)

BOARDS = {b.value for b in Board}
PERIODS = {p.value for p in Period}


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


CHECKIN_LABELS = {
    "did": "What did you do?",
    "minutes": "Minutes spent",
    "blockers": "Anything blocking you?",
    "next": "Your next step",
    "milestone": "Milestone done (optional)",
}


def _checkin_fields(form: Form, text_max: int, record: CheckinRecord | None = None) -> None:
    """The four text fields of a check-in, filled in from `record` when editing one."""
    did = _text_input(
        "did", paragraph=True, required=True, max_length=text_max, default=record and record.did
    )
    minutes = _text_input(
        "minutes",
        paragraph=False,
        required=False,
        max_length=10,
        default=str(record.minutes) if record else None,
        placeholder=None if record else "45, or 1h30",
    )
    blockers = _text_input(
        "blockers",
        paragraph=True,
        required=False,
        max_length=text_max,
        default=record and record.blockers,
    )
    next_step = _text_input(
        "next",
        paragraph=True,
        required=False,
        max_length=text_max,
        default=record and record.next_step,
    )
    for key, component in (
        ("did", did),
        ("minutes", minutes),
        ("blockers", blockers),
        ("next", next_step),
    ):
        form.add_item(discord.ui.Label(text=CHECKIN_LABELS[key], component=component))


class CheckinForm(Form, template=r"roadmap:checkin-form"):
    """What I did, minutes, blockers, next step, and (optionally) a milestone done."""

    labels = CHECKIN_LABELS

    def __init__(self, text_max: int, milestones: list[Milestone]) -> None:
        super().__init__(title="Check in", custom_id="roadmap:checkin-form", timeout=None)
        _checkin_fields(self, text_max)
        if milestones:
            select: discord.ui.Select[Any] = discord.ui.Select(
                custom_id="milestone",
                placeholder="Did you finish a milestone?",
                min_values=0,
                max_values=1,
                required=False,
                options=[
                    discord.SelectOption(
                        label=clip(m.title, OPTION_TEXT),
                        value=m.key,
                        description=clip(f"Phase {m.phase} · {m.skill}", OPTION_TEXT),
                    )
                    for m in milestones[:SELECT_OPTIONS]
                ],
            )
            self.add_item(
                discord.ui.Label(
                    text=CHECKIN_LABELS["milestone"],
                    description="Open milestones of your track, current phase first",
                    component=select,
                )
            )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        milestones = answers.choices("milestone")
        await send_checkin(
            interaction,
            did=answers.text("did"),
            minutes=answers.text("minutes"),
            blockers=answers.text("blockers"),
            next_step=answers.text("next"),
            milestone=milestones[0] if milestones else None,
        )


class EditForm(Form, template=r"roadmap:checkin-edit:(?P<id>[0-9]{1,19})"):
    """Today's check-in, filled in, to correct."""

    labels = CHECKIN_LABELS

    def __init__(self, text_max: int, record: CheckinRecord) -> None:
        super().__init__(
            title="Edit today's check-in",
            custom_id=f"roadmap:checkin-edit:{record.id}",
            timeout=None,
        )
        _checkin_fields(self, text_max, record)

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        record = await bot_of(interaction).services.roadmap.checkins.edit(
            interaction.guild_id or 0,
            interaction.user.id,
            int(match["id"]),
            answers.text("did"),
            answers.text("minutes"),
            answers.text("blockers"),
            answers.text("next"),
        )
        await reply(
            interaction,
            f"Updated your check-in for {record.day.isoformat()} ({record.minutes} min).",
        )


FORMS: tuple[type[Form], ...] = (CheckinForm, EditForm)


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
        bot_of(interaction).services.roadmap.checkins.checkin(
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
        posts = bot_of(interaction).services.member_posts
        guild_id, channel_id = interaction.guild_id or 0, interaction.channel_id
        await posts.record(guild_id, interaction.user.id, channel_id, message_id, "checkin")


class BlockerButton(
    ReportsErrors,
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

    async def handle(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.user_id:
            await reply(interaction, "Only the member who checked in can pass this on.")
            return
        if self.action == "ask":
            await self._ask(interaction)
        else:
            await self._tell_mentors(interaction)

    async def _ask(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        record = await bot.services.roadmap.checkins.blocker(
            interaction.guild_id or 0, self.user_id, self.checkin_id
        )
        asker = bot.shared.find(Asker)
        if asker is None:
            await reply(interaction, "/ask is not available on this server yet.")
            return
        await asker.ask_privately(interaction, record.blockers or "")

    async def _tell_mentors(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
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
            description=clip_escaped(record.blockers or "", EMBED_DESCRIPTION, one_line=False),
            colour=discord.Colour.orange(),
        )
        embed.add_field(
            name="Working on",
            value=clip_escaped(record.did, FIELD_VALUE, one_line=False),
            inline=False,
        )
        if record.next_step:
            embed.add_field(
                name="Next step",
                value=clip_escaped(record.next_step, FIELD_VALUE, one_line=False),
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
    ReportsErrors,
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

    async def handle(self, interaction: discord.Interaction) -> None:
        if self.board not in BOARDS or self.period not in PERIODS:
            raise DomainError("That leaderboard no longer exists.")
        page = await bot_of(interaction).services.roadmap.leaderboard.page(
            interaction.guild_id or 0, self.board, self.period, self.page
        )
        await interaction.response.edit_message(
            embed=leaderboard_embed(page),
            view=leaderboard_view(page.board, page.period, page.page, page.has_next),
        )


def leaderboard_view(board: str, period: str, page: int, has_next: bool) -> discord.ui.View | None:
    if page <= 1 and not has_next:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(LeaderboardButton(board, period, max(1, page - 1), "prev", page <= 1))
    view.add_item(LeaderboardButton(board, period, page + 1, "next", not has_next))
    return view


LEAVE = "roadmap-leave"


async def leave_confirmed(interaction: discord.Interaction, _: int | None) -> None:
    """The member confirmed /roadmap leave: their roadmap data here is deleted."""
    await bot_of(interaction).services.roadmap.members.leave(
        interaction.guild_id or 0, interaction.user.id
    )
    await interaction.response.edit_message(
        content="You left the roadmap; your check-ins and streaks here are deleted. "
        "/roadmap start whenever you want to begin again.",
        view=None,
    )


LEAVE_CONFIRMATION = Confirmation(LEAVE, leave_confirmed)
