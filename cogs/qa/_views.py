"""The buttons under an answer: stop, vote, follow up in a thread, ask a mentor. They are
DynamicItems, so they work after a restart, and each does its own work through the services.
"""

from __future__ import annotations

import contextlib
import logging
import re

import discord

from bot.app import MentorBot, bot_of
from bot.discord_limits import (
    ARCHIVE_AFTER_DAY,
    ARCHIVE_AFTER_WEEK,
    THREAD_ALREADY_CREATED,
    THREAD_NAME,
)
from bot.errors import DomainError
from bot.services.qa.models import Escalation
from bot.ui.base import ReportsErrors
from bot.ui.checks import is_moderator
from bot.ui.replies import NO_PINGS, clip, reply
from cogs.qa._render import escalation_embed

log = logging.getLogger(__name__)

THREAD_INTRO = (
    "Ask your follow-up with `/ask` in this thread and I'll keep the conversation in mind."
)
MENTOR_THREAD_INTRO = (
    "Mentors, please answer here. A moderator can save a good reply to the knowledge base: "
    "right-click it > Apps > **Promote to knowledge base**."
)


class StopButton(
    ReportsErrors, discord.ui.DynamicItem[discord.ui.Button], template=r"qa:stop:(?P<id>\d+)"
):
    def __init__(self, question_id: int) -> None:
        self.question_id = question_id
        super().__init__(
            discord.ui.Button(
                label="Stop",
                emoji="⏹️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"qa:stop:{question_id}",
            ),
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> StopButton:
        return cls(int(match["id"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        qa = bot_of(interaction).services.qa
        moderator = await is_moderator(interaction)
        if not qa.stop(self.question_id, interaction.user.id, moderator=moderator):
            await reply(interaction, "That answer has already finished.")
            return
        await interaction.response.defer()


class VoteButton(
    ReportsErrors,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"qa:vote:(?P<id>\d+):(?P<way>up|down)",
):
    def __init__(self, question_id: int, up: bool, count: int = 0) -> None:
        self.question_id = question_id
        super().__init__(
            discord.ui.Button(
                label=str(count) if count else None,
                emoji="👍" if up else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"qa:vote:{question_id}:{'up' if up else 'down'}",
            ),
        )
        self.up = up

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> VoteButton:
        return cls(int(match["id"]), match["way"] == "up")

    async def handle(self, interaction: discord.Interaction) -> None:
        guild_id, user_id = interaction.guild_id or 0, interaction.user.id
        feedback = bot_of(interaction).services.qa.feedback
        tally = await feedback.vote(self.question_id, guild_id, user_id, self.up)
        message = interaction.message
        view = answer_view(
            self.question_id,
            up=tally.up,
            down=tally.down,
            follow_up=has_button(message, "qa:follow:"),
            escalated=button_disabled(message, "qa:mentor:"),
        )
        await interaction.response.edit_message(view=view)
        if tally.changed:
            thanks = "Thanks, noted 👍." if self.up else "Thanks, noted 👎: moderators will see it."
            await interaction.followup.send(thanks, ephemeral=True)


class FollowUpButton(
    ReportsErrors, discord.ui.DynamicItem[discord.ui.Button], template=r"qa:follow:(?P<id>\d+)"
):
    def __init__(self, question_id: int) -> None:
        self.question_id = question_id
        super().__init__(
            discord.ui.Button(
                label="Follow up",
                emoji="🧵",
                style=discord.ButtonStyle.primary,
                custom_id=f"qa:follow:{question_id}",
            ),
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> FollowUpButton:
        return cls(int(match["id"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        bot, guild_id = bot_of(interaction), interaction.guild_id or 0
        feedback = bot.services.qa.feedback
        record = await feedback.start_thread(self.question_id, guild_id)
        existing = await feedback.thread_for(self.question_id)
        if existing is not None:
            await reply(interaction, f"This answer already has a follow-up thread: <#{existing}>.")
            return
        message = interaction.message
        if message is None or message.flags.ephemeral:
            raise DomainError("Private answers can't have a thread; ask again in the channel.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        name = clip(f"Follow-up: {' '.join(record.question.split())}", THREAD_NAME)
        try:
            thread = await message.create_thread(name=name, auto_archive_duration=ARCHIVE_AFTER_DAY)
        except discord.HTTPException as error:
            if error.code != THREAD_ALREADY_CREATED:
                raise
            thread = bot.get_partial_messageable(message.id, guild_id=guild_id)
        await feedback.record_thread(thread.id, guild_id, self.question_id, interaction.user.id)
        with contextlib.suppress(discord.HTTPException):
            await thread.send(THREAD_INTRO, allowed_mentions=NO_PINGS)
        await reply(interaction, f"Thread opened: <#{thread.id}>. Use `/ask` there.")


class MentorButton(
    ReportsErrors, discord.ui.DynamicItem[discord.ui.Button], template=r"qa:mentor:(?P<id>\d+)"
):
    def __init__(self, question_id: int, *, done: bool = False) -> None:
        self.question_id = question_id
        super().__init__(
            discord.ui.Button(
                label="Sent to the mentors" if done else "Ask a mentor",
                emoji="🙋",
                style=discord.ButtonStyle.secondary,
                custom_id=f"qa:mentor:{question_id}",
                disabled=done,
            ),
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> MentorButton:
        return cls(int(match["id"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        bot, guild_id, question_id = (
            bot_of(interaction),
            interaction.guild_id or 0,
            self.question_id,
        )
        feedback = bot.services.qa.feedback
        settings = await bot.services.guild_settings.get(guild_id)
        escalation = await feedback.start_escalation(
            question_id, guild_id, interaction.user.id, settings.qa_channel_id
        )
        up, down = await feedback.tally(question_id)
        follow_up = has_button(interaction.message, "qa:follow:")
        await interaction.response.edit_message(
            view=answer_view(question_id, up=up, down=down, follow_up=follow_up, escalated=True)
        )
        try:
            post = await post_escalation(bot, escalation, interaction.user, guild_id)
        except Exception:
            await feedback.abandon_escalation(escalation)
            with contextlib.suppress(discord.HTTPException):
                await interaction.edit_original_response(
                    view=answer_view(question_id, up=up, down=down, follow_up=follow_up)
                )
            raise
        await interaction.followup.send(
            f"I've passed your question to the mentors in <#{escalation.channel_id}>; "
            f"their answers will be in the thread under {post.jump_url}.",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )


async def post_escalation(
    bot: MentorBot, escalation: Escalation, asker: discord.abc.User, guild_id: int
) -> discord.Message:
    """The question in the Q&A channel, with a thread for the mentors' answers."""
    channel = bot.get_partial_messageable(escalation.channel_id, guild_id=guild_id)
    try:
        post = await channel.send(
            embed=escalation_embed(escalation, asker), allowed_mentions=NO_PINGS
        )
    except discord.NotFound:
        raise DomainError(
            "The Q&A channel set for this server no longer exists: ask a moderator to "
            "choose another with /config channel."
        ) from None
    thread_id = None
    try:
        thread = await post.create_thread(
            name=clip(f"Q: {' '.join(escalation.question.split())}", THREAD_NAME),
            auto_archive_duration=ARCHIVE_AFTER_WEEK,
        )
        thread_id = thread.id
        await thread.send(MENTOR_THREAD_INTRO, allowed_mentions=NO_PINGS)
        await thread.add_user(asker)
    except discord.HTTPException:
        log.info("Could not open or join the escalation thread", exc_info=True)
    await bot.services.qa.feedback.record_escalation(escalation, post.id, thread_id)
    return post


DYNAMIC_ITEMS = (StopButton, VoteButton, FollowUpButton, MentorButton)


def stop_view(question_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(StopButton(question_id))
    return view


def answer_view(
    question_id: int,
    *,
    up: int = 0,
    down: int = 0,
    follow_up: bool = True,
    escalated: bool = False,
) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(question_id, True, up))
    view.add_item(VoteButton(question_id, False, down))
    if follow_up:
        view.add_item(FollowUpButton(question_id))
    view.add_item(MentorButton(question_id, done=escalated))
    return view


def has_button(message: discord.Message | None, prefix: str) -> bool:
    """Whether `message` carries a button whose custom id starts with `prefix`."""
    if message is None:
        return False
    for row in message.components:
        for child in getattr(row, "children", []):
            if (getattr(child, "custom_id", None) or "").startswith(prefix):
                return True
    return False


def button_disabled(message: discord.Message | None, prefix: str) -> bool:
    if message is None:
        return False
    for row in message.components:
        for child in getattr(row, "children", []):
            if (getattr(child, "custom_id", None) or "").startswith(prefix):
                return bool(getattr(child, "disabled", False))
    return False
