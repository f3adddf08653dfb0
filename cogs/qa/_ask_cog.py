"""/ask and "Promote to knowledge base"; the Q&A capability's buttons, forms and `Asker`."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.errors import DomainError
from bot.parts import Parts
from bot.ui.asking import Asker
from bot.ui.checks import ensure_moderator
from cogs.qa._answering import Answering
from cogs.qa._forms import FORMS, PromoteModal, save_promoted
from cogs.qa._views import DYNAMIC_ITEMS


class AskCog(commands.Cog, name="Ask"):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.qa = bot.services.qa
        self.answering = Answering(bot)
        self.parts = Parts(components=DYNAMIC_ITEMS, forms=FORMS, shared={Asker: self.answering})
        self.promote_menu = app_commands.ContextMenu(
            name="Promote to knowledge base", callback=self.promote_message
        )
        self.promote_menu.guild_only = True
        self.promote_menu.default_permissions = discord.Permissions(manage_guild=True)

    async def cog_load(self) -> None:
        await self.qa.kb.sync_shipped()
        self.qa.kb.index_vectors()
        self.bot.add_parts(self.parts)
        self.bot.tree.add_command(self.promote_menu)

    async def cog_unload(self) -> None:
        self.bot.remove_parts(self.parts)
        self.bot.tree.remove_command(self.promote_menu.name, type=self.promote_menu.type)
        self.qa.stop_all()
        await self.qa.kb.close()

    @app_commands.command(name="ask", description="Ask Mentor about AI engineering")
    @app_commands.describe(
        question="Your question about the roadmap, skills, projects or careers",
        private="Only you see the answer (default: everyone in the channel)",
    )
    @app_commands.guild_only()
    async def ask(
        self, interaction: discord.Interaction, question: str, private: bool = False
    ) -> None:
        await self.answering.answer(interaction, question, private=private)

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
        await save_promoted(
            interaction,
            title=escalation.question,
            answer=message.content,
            question_id=escalation.question_id,
            author_id=message.author.id,
        )
