"""/kb: the knowledge base. Everyone can browse it; moderators add, remove and find gaps."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import MentorBot
from bot.discord_limits import CHOICE_NAME, CHOICE_VALUE, CHOICES
from bot.errors import DomainError
from bot.markdown import clip_escaped
from bot.services.qa.kb import check_upload, decode_upload
from bot.ui.checks import moderator_only
from bot.ui.replies import clip, reply
from cogs.qa._forms import AddDocumentModal, save_document
from cogs.qa._render import (
    budget_text,
    document_embed,
    documents_embed,
    gaps_embed,
    usage_embed,
)


@app_commands.guild_only()
class KbCog(commands.GroupCog, group_name="kb", description="Mentor's knowledge base"):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.qa = bot.services.qa
        super().__init__()

    @app_commands.command(name="add", description="Add or replace a server document")
    @app_commands.describe(
        file="A .md or .txt file (leave empty to type the document in a form)",
        title="The document's title (default: its '# heading' or the file name)",
    )
    @moderator_only()
    async def add(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment | None = None,
        title: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        if file is None:
            await AddDocumentModal().send_to(interaction)
            return
        limit = self.bot.services.settings.qa_doc_max_bytes
        check_upload(file.filename, file.size, limit)
        await interaction.response.defer(ephemeral=True, thinking=True)
        text = decode_upload(file.filename, await file.read(), limit)
        await save_document(interaction, text, title=title, filename=file.filename)

    @app_commands.command(name="list", description="List the documents /ask answers from")
    async def list_documents(self, interaction: discord.Interaction) -> None:
        documents = await self.qa.kb.list_documents(interaction.guild_id or 0)
        await reply(interaction, embed=documents_embed(documents))

    @app_commands.command(name="show", description="Show a document's sections, or one section")
    @app_commands.describe(document="Which document", section="A section to read in full")
    async def show(
        self, interaction: discord.Interaction, document: str, section: str | None = None
    ) -> None:
        guild_id = interaction.guild_id or 0
        info, sections = await self.qa.kb.get_document(guild_id, document)
        text = None
        if section is not None:
            if section not in sections:
                raise DomainError(f"'{clip(section, 80)}' is not a section of {info.title}.")
            text = await self.qa.kb.get_section_text(guild_id, info.slug, section)
        await reply(interaction, embed=document_embed(info, sections, section, text))

    @app_commands.command(name="remove", description="Remove a server document")
    @app_commands.describe(document="The document to remove")
    @moderator_only()
    async def remove(self, interaction: discord.Interaction, document: str) -> None:
        info = await self.qa.kb.remove_document(interaction.guild_id or 0, document)
        await reply(interaction, f"Removed **{clip_escaped(info.title, 200)}** (`{info.slug}`).")

    @app_commands.command(name="gaps", description="Questions the knowledge base answers poorly")
    @moderator_only()
    async def gaps(self, interaction: discord.Interaction) -> None:
        gaps = await self.qa.reports.gaps(interaction.guild_id or 0)
        days = self.bot.services.settings.qa_gaps_days
        await reply(interaction, embed=gaps_embed(gaps, days))

    @show.autocomplete("document")
    @remove.autocomplete("document")
    async def document_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        documents = await self.qa.kb.search_slugs(interaction.guild_id or 0, current)
        if interaction.command is not None and interaction.command.name == "remove":
            documents = [d for d in documents if not d.shipped]
        return [
            app_commands.Choice(name=clip(f"{d.title} ({d.slug})", CHOICE_NAME), value=d.slug)
            for d in documents[:CHOICES]
        ]

    @show.autocomplete("section")
    async def section_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        slug = getattr(interaction.namespace, "document", None)
        if not slug:
            return []
        try:
            _, sections = await self.qa.kb.get_document(interaction.guild_id or 0, str(slug))
        except DomainError:
            return []
        wanted = current.strip().lower()
        return [
            app_commands.Choice(name=clip(s, CHOICE_NAME), value=s[:CHOICE_VALUE])
            for s in sections
            if wanted in s.lower()
        ][:CHOICES]


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class QAAdminCog(commands.GroupCog, group_name="qa", description="Q&A usage and limits"):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.qa = bot.services.qa
        super().__init__()

    @app_commands.command(name="usage", description="Questions, tokens and cost, last 30 days")
    @moderator_only()
    async def usage(self, interaction: discord.Interaction) -> None:
        report = await self.qa.reports.usage(interaction.guild_id or 0)
        await reply(interaction, embed=usage_embed(report))

    @app_commands.command(name="limits", description="Lower this server's daily token budgets")
    @app_commands.describe(
        member_tokens="Tokens one member may use a day (at most the operator's limit)",
        server_tokens="Tokens the whole server may use a day (at most the operator's limit)",
        reset="Go back to the operator's budgets",
    )
    @moderator_only()
    async def limits(
        self,
        interaction: discord.Interaction,
        member_tokens: app_commands.Range[int, 0, 100_000_000] | None = None,
        server_tokens: app_commands.Range[int, 0, 100_000_000] | None = None,
        reset: bool = False,
    ) -> None:
        if member_tokens is None and server_tokens is None and not reset:
            limits = await self.qa.limits.get(interaction.guild_id or 0)
        else:
            limits = await self.qa.limits.set(
                interaction.guild_id or 0,
                interaction.user.id,
                member_daily_tokens=member_tokens,
                guild_daily_tokens=server_tokens,
                reset=reset,
            )
        await reply(
            interaction,
            f"Daily token budgets in force:\n- per member: {budget_text(limits.member)}\n"
            f"- for the server: {budget_text(limits.guild)}\n"
            f"Rate limit: {limits.rate_count} questions per {limits.rate_window_minutes} "
            "minutes per member (set by the operator).",
        )
