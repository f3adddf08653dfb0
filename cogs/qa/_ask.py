"""/ask: a streamed, cited answer, with stop, feedback, follow-up and escalation buttons."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.delivery import ChannelPost, Destination
from bot.errors import DomainError, PermissionDenied
from bot.markdown import clip_escaped
from bot.services.qa.llm import ChatStream, LLMFailure
from bot.services.qa.models import Answer, Escalation, Plan
from bot.services.scheduled_posts import PostKey
from bot.ui.checks import ensure_moderator, member_is_moderator
from bot.ui.errors import describe, new_ref, report_error
from bot.ui.replies import NO_PINGS, clip, reply
from cogs.qa._render import (
    answer_pieces,
    escalation_embed,
    sources_embed,
    streaming_pieces,
)
from cogs.qa._stream import AnswerOutput
from cogs.qa._views import (
    DYNAMIC_ITEMS,
    FORMS,
    PromoteModal,
    answer_view,
    button_disabled,
    has_button,
    stop_view,
)

log = logging.getLogger(__name__)

QUOTA_KIND = "qa:quota"
QUOTA_NOTICE = (
    "⚠️ **Moderators:** the AI model's API quota has run out (the provider answered "
    "`insufficient_quota`). `/ask` is answering from the knowledge base alone until the "
    "quota is topped up with the provider."
)
THREAD_INTRO = (
    "Ask your follow-up with `/ask` in this thread and I'll keep the conversation in mind."
)
MENTOR_THREAD_INTRO = (
    "Mentors, please answer here. A moderator can save a good reply to the knowledge base: "
    "right-click it > Apps > **Promote to knowledge base**."
)


class AskCog(commands.Cog, name="Ask"):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.qa = bot.services.qa
        self._streams: dict[int, tuple[ChatStream, int]] = {}
        self.promote_menu = app_commands.ContextMenu(
            name="Promote to knowledge base", callback=self.promote_message
        )
        self.promote_menu.guild_only = True
        self.promote_menu.default_permissions = discord.Permissions(manage_guild=True)

    async def cog_load(self) -> None:
        await self.qa.kb.sync_shipped()
        self.qa.kb.index_vectors()
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.forms.add(*FORMS)
        self.bot.tree.add_command(self.promote_menu)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)
        self.bot.forms.remove(*FORMS)
        self.bot.tree.remove_command(self.promote_menu.name, type=self.promote_menu.type)
        for stream, _ in self._streams.values():
            stream.stop()
        await self.qa.kb.close()

    # --- Asking -------------------------------------------------------------------

    @app_commands.command(name="ask", description="Ask Mentor about AI engineering")
    @app_commands.describe(
        question="Your question about the roadmap, skills, projects or careers",
        private="Only you see the answer (default: everyone in the channel)",
    )
    @app_commands.guild_only()
    async def ask(
        self, interaction: discord.Interaction, question: str, private: bool = False
    ) -> None:
        await self.answer(interaction, question, private=private)

    async def ask_from_button(self, interaction: discord.Interaction, question: str) -> None:
        """Answer `question` for a button elsewhere (the roadmap's "Ask Mentor"), privately."""
        try:
            await self.answer(interaction, question, private=True)
        except Exception as error:
            await report_error(interaction, error)

    async def answer(
        self, interaction: discord.Interaction, question: str, *, private: bool
    ) -> None:
        """Check limits (refusals are ephemeral), defer, then answer and record it."""
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
        try:
            plan = await self.qa.prepare(ticket)
            if plan.streams:
                answer = await self._stream(plan, output)
            else:
                answer = await self.qa.deliver(plan)
            if answer is None:
                return
            in_thread = isinstance(interaction.channel, discord.Thread)
            view = answer_view(answer.question_id, follow_up=not private and not in_thread)
            await output.show(answer_pieces(answer), view=view, embed=sources_embed(answer))
            if answer.quota_exhausted:
                await self._tell_moderators_quota(ticket.guild_id)
        except DomainError as error:
            await self.qa.refuse(ticket, error.message)
            await output.show([error.message])
        except Exception as error:
            await self.qa.abandon(ticket, type(error).__name__)
            await self._report_after_defer(interaction, output, error)

    async def _stream(self, plan: Plan, output: AnswerOutput) -> Answer | None:
        """Edit the answer in as it streams, at most once per QA_EDIT_INTERVAL_SECONDS."""
        question_id = plan.ticket.question_id
        stream = self.qa.open_stream(plan)
        self._streams[question_id] = (stream, plan.ticket.user_id)
        interval = self.bot.services.settings.qa_edit_interval_seconds
        loop = asyncio.get_running_loop()
        last_edit = float("-inf")
        view = stop_view(question_id)
        try:
            async with contextlib.aclosing(aiter(stream)) as deltas:
                async for _ in deltas:
                    now = loop.time()
                    if now - last_edit >= interval:
                        last_edit = now
                        shown = self.qa.display(plan, stream.text)
                        await output.show(streaming_pieces(shown), view=view)
            return await self.qa.complete(plan, stream)
        except LLMFailure as failure:
            fallback = await self.qa.fail(plan, failure)
            if fallback is None:
                await output.show(
                    [f"⚠️ {failure.message} Nothing was counted against your question budget."]
                )
            return fallback
        finally:
            self._streams.pop(question_id, None)

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
        """Post the quota notice in the Q&A channel, once a day per server."""
        services = self.bot.services
        period = services.clock.now().date().isoformat()

        async def build() -> list[Destination]:
            channel_id = (await services.guild_settings.get(guild_id)).qa_channel_id
            if channel_id is None:
                log.warning("LLM quota exhausted; guild %s has no Q&A channel to tell", guild_id)
                return []
            marker = f"{QUOTA_NOTICE} ({period})"
            message = {"content": marker, "allowed_mentions": NO_PINGS}
            return [ChannelPost(marker, message, guild_id=guild_id, channel=channel_id)]

        key = PostKey(guild_id, QUOTA_KIND, period)
        await self.bot.delivery.deliver(key, build, what="the notice that the AI quota ran out")

    # --- Buttons ------------------------------------------------------------------

    async def stop_answer(self, interaction: discord.Interaction, question_id: int) -> None:
        entry = self._streams.get(question_id)
        if entry is None:
            await reply(interaction, "That answer has already finished.")
            return
        stream, asker = entry
        if interaction.user.id != asker and not await self._is_moderator(interaction):
            raise PermissionDenied("Only the member who asked can stop this answer.")
        stream.stop()
        await interaction.response.defer()

    async def vote(self, interaction: discord.Interaction, question_id: int, up: bool) -> None:
        guild_id, user_id = interaction.guild_id or 0, interaction.user.id
        tally = await self.qa.feedback.vote(question_id, guild_id, user_id, up)
        message = interaction.message
        view = answer_view(
            question_id,
            up=tally.up,
            down=tally.down,
            follow_up=has_button(message, "qa:follow:"),
            escalated=button_disabled(message, "qa:mentor:"),
        )
        await interaction.response.edit_message(view=view)
        if tally.changed:
            thanks = "Thanks, noted 👍." if up else "Thanks, noted 👎: moderators will see it."
            await interaction.followup.send(thanks, ephemeral=True)

    async def follow_up(self, interaction: discord.Interaction, question_id: int) -> None:
        guild_id = interaction.guild_id or 0
        record = await self.qa.feedback.start_thread(question_id, guild_id)
        existing = await self.qa.feedback.thread_for(question_id)
        if existing is not None:
            await reply(interaction, f"This answer already has a follow-up thread: <#{existing}>.")
            return
        message = interaction.message
        if message is None or message.flags.ephemeral:
            raise DomainError("Private answers can't have a thread; ask again in the channel.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        name = clip(f"Follow-up: {' '.join(record.question.split())}", 100)
        try:
            thread = await message.create_thread(name=name, auto_archive_duration=1440)
        except discord.HTTPException as error:
            if error.code != 160004:  # a thread already exists for this message
                raise
            thread = self.bot.get_partial_messageable(message.id, guild_id=guild_id)
        await self.qa.feedback.record_thread(thread.id, guild_id, question_id, interaction.user.id)
        with contextlib.suppress(discord.HTTPException):
            await thread.send(THREAD_INTRO, allowed_mentions=NO_PINGS)
        await reply(interaction, f"Thread opened: <#{thread.id}>. Use `/ask` there.")

    async def escalate(self, interaction: discord.Interaction, question_id: int) -> None:
        guild_id = interaction.guild_id or 0
        settings = await self.bot.services.guild_settings.get(guild_id)
        escalation = await self.qa.feedback.start_escalation(
            question_id, guild_id, interaction.user.id, settings.qa_channel_id
        )
        up, down = await self.qa.feedback.tally(question_id)
        follow_up = has_button(interaction.message, "qa:follow:")
        await interaction.response.edit_message(
            view=answer_view(question_id, up=up, down=down, follow_up=follow_up, escalated=True)
        )
        try:
            post = await self._post_escalation(escalation, interaction.user, guild_id)
        except Exception:
            await self.qa.feedback.abandon_escalation(escalation)
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

    async def _post_escalation(
        self, escalation: Escalation, asker: discord.abc.User, guild_id: int
    ) -> discord.Message:
        channel = self.bot.get_partial_messageable(escalation.channel_id, guild_id=guild_id)
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
                name=clip(f"Q: {' '.join(escalation.question.split())}", 100),
                auto_archive_duration=10080,
            )
            thread_id = thread.id
            await thread.send(MENTOR_THREAD_INTRO, allowed_mentions=NO_PINGS)
            await thread.add_user(asker)
        except discord.HTTPException:
            log.info("Could not open or join the escalation thread", exc_info=True)
        await self.qa.feedback.record_escalation(escalation, post.id, thread_id)
        return post

    # --- Promotion ----------------------------------------------------------------

    async def promote_message(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Context menu: save a human answer from the Q&A channel into the knowledge base."""
        await ensure_moderator(interaction)
        if message.author.bot:
            raise DomainError("Promote a member's answer, not a bot's message.")
        if not message.content.strip():
            raise DomainError("That message has no text to save.")
        reference = message.reference.message_id if message.reference else None
        escalation = await self.qa.feedback.escalation_for(
            interaction.guild_id or 0, channel_id=message.channel.id, reference_id=reference
        )
        if escalation is None:
            await PromoteModal(message.content, author_id=message.author.id).send_to(interaction)
            return
        await self.save_promoted(
            interaction,
            title=escalation.question,
            answer=message.content,
            question_id=escalation.question_id,
            author_id=message.author.id,
        )

    async def save_promoted(
        self,
        interaction: discord.Interaction,
        *,
        title: str,
        answer: str,
        question_id: int | None,
        author_id: int,
    ) -> None:
        # Checked again here: a form can be submitted long after it was opened.
        await ensure_moderator(interaction)
        saved = await self.qa.feedback.promote(
            interaction.guild_id or 0,
            interaction.user.id,
            title=title,
            answer=answer,
            question_id=question_id,
            author_id=author_id,
        )
        verb = "Updated" if saved.replaced else "Saved"
        await reply(
            interaction,
            f"{verb} '{clip_escaped(saved.info.title, 180)}' in the knowledge base "
            f"(`{saved.info.slug}`): /ask will use it from now on.",
        )

    async def _is_moderator(self, interaction: discord.Interaction) -> bool:
        if not isinstance(interaction.user, discord.Member):
            return False
        settings = await self.bot.services.guild_settings.get(interaction.guild_id or 0)
        return member_is_moderator(interaction.user, settings)
