"""Buttons and modals of Q&A. The buttons are DynamicItems, so they work after a restart."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

import discord

from bot.ui.base import ReportsErrors
from bot.ui.forms import Answers, Form

if TYPE_CHECKING:
    from cogs.qa._ask import AskCog
    from cogs.qa._kb import KbCog

COG_NAME = "Ask"
KB_COG_NAME = "KbCog"


def _cog(interaction: discord.Interaction) -> AskCog:
    cog = interaction.client.get_cog(COG_NAME)  # type: ignore[attr-defined]
    if cog is None:
        raise RuntimeError("the Ask cog is not loaded")
    return cog


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
        await _cog(interaction).stop_answer(interaction, self.question_id)


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
        await _cog(interaction).vote(interaction, self.question_id, self.up)


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
        await _cog(interaction).follow_up(interaction, self.question_id)


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
        await _cog(interaction).escalate(interaction, self.question_id)


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
                max_length=100,
                placeholder="e.g. Our study-group rules",
            )
        )
        self.add_item(
            discord.ui.TextInput(
                label=self.labels["content"],
                custom_id="content",
                style=discord.TextStyle.paragraph,
                max_length=4000,
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        cog: KbCog | None = interaction.client.get_cog(KB_COG_NAME)  # type: ignore[attr-defined]
        if cog is None:
            raise RuntimeError("the knowledge-base cog is not loaded")
        await cog.save_document(
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
                max_length=4000,
                default=answer[:4000],
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        await _cog(interaction).save_promoted(
            interaction,
            title=answers.text("title"),
            answer=answers.text("content"),
            question_id=None,
            author_id=int(match["author"]),
        )


FORMS: tuple[type[Form], ...] = (AddDocumentModal, PromoteModal)
