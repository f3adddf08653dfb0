"""The knowledge base's forms: add a document, promote a member's answer. The custom_id
says what each is for, so a form opened before a restart is handled after it; moderator
rights are checked again when it is sent."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import ClassVar

import discord

from bot.app import bot_of
from bot.discord_limits import INPUT_VALUE
from bot.markdown import clip_escaped
from bot.services.qa.documents import TITLE_LIMIT
from bot.ui.checks import ensure_moderator
from bot.ui.forms import Answers, Form
from bot.ui.replies import reply


class AddDocumentModal(Form, template=r"kb:add"):
    labels: ClassVar[dict[str, str]] = {
        "title": "Title",
        "content": "Text (Markdown; ## headings make sections)",
    }

    def __init__(self) -> None:
        super().__init__(title="Add a knowledge-base document", custom_id="kb:add", timeout=None)
        self.add_item(
            discord.ui.TextInput(
                label=self.labels["title"],
                custom_id="title",
                max_length=TITLE_LIMIT,
                placeholder="e.g. Our study-group rules",
            )
        )
        self.add_item(
            discord.ui.TextInput(
                label=self.labels["content"],
                custom_id="content",
                style=discord.TextStyle.paragraph,
                max_length=INPUT_VALUE,
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        await save_document(
            interaction, answers.text("content"), title=answers.text("title"), filename=None
        )


class PromoteModal(Form, template=r"kb:promote:(?P<author>[0-9]{1,20})"):
    """Promote a message to the knowledge base. The custom_id carries the message's author
    (their text becomes a document, erased with them); moderator rights are checked again
    when the form is submitted."""

    labels: ClassVar[dict[str, str]] = {
        "title": "The question this answers",
        "content": "The answer",
    }

    def __init__(self, answer: str, *, author_id: int, question: str = "") -> None:
        super().__init__(
            title="Promote to knowledge base", custom_id=f"kb:promote:{author_id}", timeout=None
        )
        self.add_item(
            discord.ui.TextInput(
                label=self.labels["title"],
                custom_id="title",
                max_length=90,
                default=question[:90] or None,
            )
        )
        self.add_item(
            discord.ui.TextInput(
                label=self.labels["content"],
                custom_id="content",
                style=discord.TextStyle.paragraph,
                max_length=INPUT_VALUE,
                default=answer[:INPUT_VALUE],
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        await save_promoted(
            interaction,
            title=answers.text("title"),
            answer=answers.text("content"),
            question_id=None,
            author_id=int(match["author"]),
        )


FORMS: tuple[type[Form], ...] = (AddDocumentModal, PromoteModal)


async def save_document(
    interaction: discord.Interaction, text: str, *, title: str | None, filename: str | None
) -> None:
    """Add or replace a server document (from `/kb add`'s file or its form)."""
    await ensure_moderator(interaction)
    fallback = PurePath(filename).stem.replace("_", " ") if filename else None
    saved = await bot_of(interaction).services.qa.kb.add_document(
        interaction.guild_id or 0,
        text,
        user_id=interaction.user.id,
        title=title,
        fallback_title=fallback,
    )
    info = saved.info
    verb = "Replaced" if saved.replaced else "Added"
    sections = "section" if info.sections == 1 else "sections"
    await reply(
        interaction,
        f"{verb} **{clip_escaped(info.title, 200)}** (`{info.slug}`): {info.sections} "
        f"{sections}, {saved.chunks} passages indexed. /ask uses it from now on.",
    )


async def save_promoted(
    interaction: discord.Interaction,
    *,
    title: str,
    answer: str,
    question_id: int | None,
    author_id: int,
) -> None:
    """Save a member's answer into the knowledge base (the context menu, or its form)."""
    # Checked again here: a form can be submitted long after it was opened.
    await ensure_moderator(interaction)
    saved = await bot_of(interaction).services.qa.feedback.promote(
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
