"""Answering a question in Discord: refuse or defer, stream the answer in, show it with its
buttons, and tell the moderators once a day when the model's quota ran out.

The Q&A steps themselves are the service's (`QAService.reserve`, then `answer`). This is
also what the Q&A capability shares with others as its `Asker` (bot/ui/asking.py).
"""

from __future__ import annotations

import contextlib
import logging

import discord
from discord import app_commands

from bot.app import MentorBot
from bot.delivery import ChannelPost, Destination
from bot.errors import DomainError
from bot.ui.errors import describe, new_ref, report_error
from bot.ui.replies import NO_PINGS
from cogs.qa._render import answer_pieces, sources_embed, streaming_pieces
from cogs.qa._stream import AnswerOutput
from cogs.qa._views import answer_view, stop_view

log = logging.getLogger(__name__)

QUOTA_NOTICE = (
    "⚠️ **Moderators:** the AI model's API quota has run out (the provider answered "
    "`insufficient_quota`). `/ask` is answering from the knowledge base alone until the "
    "quota is topped up with the provider."
)


class Answering:
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.qa = bot.services.qa

    async def ask_privately(self, interaction: discord.Interaction, question: str) -> None:
        """Answer `question` for a button elsewhere (the roadmap's "Ask Mentor"), privately."""
        try:
            await self.answer(interaction, question, private=True)
        except Exception as error:
            await report_error(interaction, error)

    async def answer(
        self, interaction: discord.Interaction, question: str, *, private: bool
    ) -> None:
        """Check limits (refusals are ephemeral), defer, then answer and show it."""
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        ticket = await self.qa.reserve(
            interaction.guild_id,
            interaction.user.id,
            interaction.channel_id or 0,
            question,
            public=not private,
        )
        await interaction.response.defer(ephemeral=private, thinking=True)
        clock = self.bot.services.clock
        output = AnswerOutput(interaction, private, clock, clock.now())
        stop = stop_view(ticket.question_id)

        async def progress(text: str) -> None:
            await output.show(streaming_pieces(text), view=stop)

        try:
            answer = await self.qa.answer(ticket, progress)
            in_thread = isinstance(interaction.channel, discord.Thread)
            view = answer_view(answer.question_id, follow_up=not private and not in_thread)
            await output.show(answer_pieces(answer), view=view, embed=sources_embed(answer))
            if answer.quota_exhausted:
                await self._tell_moderators_quota(ticket.guild_id)
        except DomainError as error:
            await output.show([error.message])
        except Exception as error:
            await self._report_after_defer(interaction, output, error)

    async def _report_after_defer(
        self, interaction: discord.Interaction, output: AnswerOutput, error: Exception
    ) -> None:
        message = describe(error)
        if message is None:
            ref = new_ref()
            log.error(
                "Unexpected error (ref %s) answering user %s in guild %s",
                ref,
                interaction.user.id,
                interaction.guild_id,
                exc_info=error,
            )
            message = f"Something went wrong (ref {ref}). The moderators can find it in the logs."
        with contextlib.suppress(discord.HTTPException):
            await output.show([message])

    async def _tell_moderators_quota(self, guild_id: int) -> None:
        """Post the quota notice in the Q&A channel (once a day: the service's key)."""
        key = self.qa.quota_notice(guild_id)
        guild_settings = self.bot.services.guild_settings

        async def build() -> list[Destination]:
            channel_id = (await guild_settings.get(guild_id)).qa_channel_id
            if channel_id is None:
                log.warning("LLM quota exhausted; guild %s has no Q&A channel to tell", guild_id)
                return []
            marker = f"{QUOTA_NOTICE} ({key.period})"
            message = {"content": marker, "allowed_mentions": NO_PINGS}
            return [ChannelPost(marker, message, guild_id=guild_id, channel=channel_id)]

        await self.bot.delivery.deliver(key, build, what="the notice that the AI quota ran out")
