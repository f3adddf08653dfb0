"""The forms: request, resubmission, review and rating.

Each keeps what the member typed: when the service refuses it (a bad link, scores that
don't parse, a closed request), the answer carries an "Edit and send again" button that
reopens the form filled in as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from bot.errors import DomainError
from bot.services.portfolio import drafts
from bot.services.portfolio.links import LINK_MAX_CHARS
from bot.services.portfolio.models import Request
from bot.ui.base import MentorModal
from bot.ui.errors import report_error
from bot.ui.replies import clip, reply
from cogs.portfolio._views import RetryView

if TYPE_CHECKING:
    from cogs.portfolio._actions import Actions

MODAL_TITLE = 45


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    description: str | None = None
    placeholder: str | None = None
    paragraph: bool = False
    required: bool = True
    min_length: int | None = None
    max_length: int = 4000


class DraftModal(MentorModal):
    """A form whose refused answers can be edited and sent again."""

    fields: tuple[Field, ...] = ()

    def __init__(self, title: str, defaults: dict[str, str] | None = None) -> None:
        super().__init__(title=clip(title, MODAL_TITLE), timeout=1800)
        defaults = defaults or {}
        self.inputs: dict[str, discord.ui.TextInput] = {}
        for field in self.fields:
            default = defaults.get(field.key) or None
            text_input = discord.ui.TextInput(
                custom_id=field.key,
                style=discord.TextStyle.paragraph if field.paragraph else discord.TextStyle.short,
                placeholder=field.placeholder,
                default=clip(default, field.max_length) if default else None,
                required=field.required,
                min_length=field.min_length,
                max_length=field.max_length,
            )
            self.inputs[field.key] = text_input
            self.add_item(
                discord.ui.Label(
                    text=field.label, description=field.description, component=text_input
                )
            )

    def values(self) -> dict[str, str]:
        return {key: text_input.value for key, text_input in self.inputs.items()}

    def again(self) -> discord.ui.Modal:
        """The same form, filled in with what was typed."""
        raise NotImplementedError

    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:
        if isinstance(error, DomainError):
            view = RetryView(interaction.user.id, self.again)
            await reply(
                interaction,
                f"{error.message}\n\nWhat you typed is kept: press the button to fix it.",
                view=view,
            )
            return
        await report_error(interaction, error)


class SubmitModal(DraftModal):
    fields = (
        Field(
            "title",
            "Project title",
            min_length=drafts.TITLE_MIN,
            max_length=drafts.TITLE_MAX,
            placeholder="Handbook Q&A with citations",
        ),
        Field(
            "repo_url",
            "Repository link",
            description="A public http(s) link to the code, e.g. on GitHub",
            placeholder="https://github.com/you/project",
            max_length=LINK_MAX_CHARS,
        ),
        Field(
            "demo_url",
            "Demo link (optional)",
            description="A deployed app or a demo video",
            placeholder="https://...",
            required=False,
            max_length=LINK_MAX_CHARS,
        ),
        Field(
            "description",
            "What it does",
            description="The problem, the data and your approach, in a few sentences",
            paragraph=True,
            min_length=drafts.DESCRIPTION_MIN,
            max_length=drafts.DESCRIPTION_MAX,
        ),
        Field(
            "feedback_wanted",
            "What feedback do you want?",
            paragraph=True,
            min_length=3,
            max_length=drafts.FEEDBACK_MAX,
        ),
    )

    def __init__(
        self,
        actions: Actions,
        archetype: str,
        self_check: str,
        defaults: dict[str, str] | None = None,
    ) -> None:
        super().__init__("Ask for a portfolio review", defaults)
        self.actions = actions
        self.archetype = archetype
        self.self_check = self_check

    def again(self) -> discord.ui.Modal:
        return SubmitModal(self.actions, self.archetype, self.self_check, self.values())

    async def on_submit(self, interaction: discord.Interaction) -> None:
        values = self.values()
        draft = drafts.request_draft(
            self.actions.rubric,
            archetype=self.archetype,
            self_check=self.self_check,
            **values,
        )
        await self.actions.finish_submit(interaction, draft)


class ResubmitModal(DraftModal):
    fields = (
        SubmitModal.fields[1],
        SubmitModal.fields[2],
        SubmitModal.fields[3],
        Field(
            "change_note",
            "What changed since the last review?",
            description="The reviewer sees this next to the earlier scores",
            paragraph=True,
            min_length=drafts.CHANGE_NOTE_MIN,
            max_length=drafts.CHANGE_NOTE_MAX,
        ),
        SubmitModal.fields[4],
    )

    def __init__(
        self,
        actions: Actions,
        previous: Request,
        self_check: str,
        defaults: dict[str, str] | None = None,
    ) -> None:
        if defaults is None:
            defaults = {
                "repo_url": previous.repo_url,
                "demo_url": previous.demo_url or "",
                "description": previous.description,
            }
        super().__init__(f"Round {previous.round + 1}: {previous.title}", defaults)
        self.actions = actions
        self.previous = previous
        self.self_check = self_check

    def again(self) -> discord.ui.Modal:
        return ResubmitModal(self.actions, self.previous, self.self_check, self.values())

    async def on_submit(self, interaction: discord.Interaction) -> None:
        draft = drafts.resubmit_draft(self_check=self.self_check, **self.values())
        await self.actions.finish_resubmit(interaction, self.previous, draft)


class ReviewModal(DraftModal):
    def __init__(
        self, actions: Actions, request: Request, defaults: dict[str, str] | None = None
    ) -> None:
        order = actions.rubric.score_order
        self.fields = (
            Field(
                "scores",
                "Scores, 1 to 5 each, in this order",
                description=clip(order, 100),
                placeholder="4 3 5 2 4",
                min_length=9,
                max_length=30,
            ),
            Field(
                "strengths",
                "Strengths",
                description="What works well and should stay",
                paragraph=True,
                min_length=drafts.STRENGTHS_MIN,
                max_length=drafts.STRENGTHS_MAX,
            ),
            Field(
                "improvements",
                "What to improve",
                description="The most useful next steps, most important first",
                paragraph=True,
                min_length=drafts.IMPROVEMENTS_MIN,
                max_length=drafts.IMPROVEMENTS_MAX,
            ),
        )
        super().__init__(f"Review #{request.id}: {request.title}", defaults)
        self.actions = actions
        self.request = request

    def again(self) -> discord.ui.Modal:
        return ReviewModal(self.actions, self.request, self.values())

    async def on_submit(self, interaction: discord.Interaction) -> None:
        draft = drafts.review_draft(self.actions.rubric, **self.values())
        await self.actions.finish_review(interaction, self.request.id, draft)


class RateModal(DraftModal):
    fields = (
        Field(
            "helpful",
            "How helpful was the review? (1 to 5)",
            description="1: not helpful, 5: very helpful",
            placeholder="4",
            max_length=1,
        ),
        Field(
            "comment",
            "Anything to tell the reviewer? (optional)",
            paragraph=True,
            required=False,
            max_length=drafts.COMMENT_MAX,
        ),
    )

    def __init__(
        self, actions: Actions, request: Request, defaults: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"Rate the review of #{request.id}", defaults)
        self.actions = actions
        self.request = request

    def again(self) -> discord.ui.Modal:
        return RateModal(self.actions, self.request, self.values())

    async def on_submit(self, interaction: discord.Interaction) -> None:
        values = self.values()
        helpful = drafts.parse_helpful(values["helpful"])
        comment = drafts.rating_comment(values["comment"])
        await self.actions.finish_rating(interaction, self.request.id, helpful, comment)
