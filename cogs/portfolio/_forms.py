"""The forms: request, resubmission, review and rating.

Each is a `Form` (bot/ui/forms.py): its custom_id says what it is for, so a form opened
before a restart, or open twice, is handled like any other. Each keeps what the member
typed: when the service refuses it (a bad link, scores that don't parse, a closed request),
the answer quotes it back and carries an "Edit and send again" button that reopens the form
filled in as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

import discord

from bot.app import bot_of
from bot.discord_limits import INPUT_VALUE, LABEL_DESCRIPTION, MODAL_TITLE
from bot.errors import DomainError
from bot.services.links import LINK_MAX_CHARS
from bot.services.portfolio import drafts
from bot.services.portfolio.models import Request
from bot.ui.forms import Answers, Form, RetryView, report_form_error
from bot.ui.replies import clip
from cogs.portfolio import _sent

SELF_CHECK = "complete|skipped"


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    description: str | None = None
    placeholder: str | None = None
    paragraph: bool = False
    required: bool = True
    min_length: int | None = None
    max_length: int = INPUT_VALUE


class DraftForm(Form):
    """A form whose refused answers are quoted back and can be edited and sent again."""

    fields: ClassVar[tuple[Field, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.labels = {field.key: field.label for field in cls.fields}

    def __init__(self, title: str, custom_id: str, defaults: dict[str, str] | None = None) -> None:
        super().__init__(title=clip(title, MODAL_TITLE), custom_id=custom_id, timeout=None)
        defaults = defaults or {}
        for field in self.shown_fields():
            default = defaults.get(field.key) or None
            text_input: discord.ui.TextInput = discord.ui.TextInput(
                custom_id=field.key,
                style=discord.TextStyle.paragraph if field.paragraph else discord.TextStyle.short,
                placeholder=field.placeholder,
                default=clip(default, field.max_length) if default else None,
                required=field.required,
                min_length=field.min_length,
                max_length=field.max_length,
            )
            self.add_item(
                discord.ui.Label(
                    text=field.label, description=field.description, component=text_input
                )
            )

    def shown_fields(self) -> tuple[Field, ...]:
        return self.fields

    @classmethod
    async def build(
        cls, interaction: discord.Interaction, match: re.Match[str], defaults: dict[str, str]
    ) -> Self:
        """The form of this custom_id, filled in with `defaults`."""
        raise NotImplementedError

    @classmethod
    async def handle(
        cls, interaction: discord.Interaction, match: re.Match[str], values: dict[str, str]
    ) -> None:
        raise NotImplementedError

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        values = answers.texts(field.key for field in cls.fields)
        try:
            await cls.handle(interaction, match, values)
        except DomainError as error:
            view = None
            try:
                again = await cls.build(interaction, match, values)
                view = RetryView(interaction.client, interaction.user.id, lambda: again)
            except DomainError:
                pass  # the request itself is gone: the quoted text is all that is left
            await report_form_error(interaction, error, answers, cls.labels, view)


SUBMIT_FIELDS = (
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


class SubmitModal(
    DraftForm,
    template=rf"portfolio:form:submit:(?P<archetype>[a-z0-9_]{{1,40}}):(?P<check>{SELF_CHECK})",
):
    fields = SUBMIT_FIELDS

    def __init__(
        self, archetype: str, self_check: str, defaults: dict[str, str] | None = None
    ) -> None:
        custom_id = f"portfolio:form:submit:{archetype}:{self_check}"
        super().__init__("Ask for a portfolio review", custom_id, defaults)

    @classmethod
    async def build(
        cls, interaction: discord.Interaction, match: re.Match[str], defaults: dict[str, str]
    ) -> SubmitModal:
        return cls(match["archetype"], match["check"], defaults)

    @classmethod
    async def handle(
        cls, interaction: discord.Interaction, match: re.Match[str], values: dict[str, str]
    ) -> None:
        rubric = bot_of(interaction).services.portfolio.rubric
        draft = drafts.request_draft(
            rubric, archetype=match["archetype"], self_check=match["check"], **values
        )
        await _sent.finish_submit(interaction, draft)


RESUBMIT_FIELDS = (
    SUBMIT_FIELDS[1],
    SUBMIT_FIELDS[2],
    SUBMIT_FIELDS[3],
    Field(
        "change_note",
        "What changed since the last review?",
        description="The reviewer sees this next to the earlier scores",
        paragraph=True,
        min_length=drafts.CHANGE_NOTE_MIN,
        max_length=drafts.CHANGE_NOTE_MAX,
    ),
    SUBMIT_FIELDS[4],
)


class ResubmitModal(
    DraftForm,
    template=rf"portfolio:form:resubmit:(?P<id>[0-9]{{1,19}}):(?P<check>{SELF_CHECK})",
):
    fields = RESUBMIT_FIELDS

    def __init__(
        self, previous: Request, self_check: str, defaults: dict[str, str] | None = None
    ) -> None:
        if defaults is None:
            defaults = {
                "repo_url": previous.repo_url,
                "demo_url": previous.demo_url or "",
                "description": previous.description,
            }
        custom_id = f"portfolio:form:resubmit:{previous.id}:{self_check}"
        super().__init__(f"Round {previous.round + 1}: {previous.title}", custom_id, defaults)

    @classmethod
    async def build(
        cls, interaction: discord.Interaction, match: re.Match[str], defaults: dict[str, str]
    ) -> ResubmitModal:
        previous = await bot_of(interaction).services.portfolio.get(
            interaction.guild_id, int(match["id"])
        )
        return cls(previous, match["check"], defaults)

    @classmethod
    async def handle(
        cls, interaction: discord.Interaction, match: re.Match[str], values: dict[str, str]
    ) -> None:
        draft = drafts.resubmit_draft(self_check=match["check"], **values)
        await _sent.finish_resubmit(interaction, int(match["id"]), draft)


REVIEW_FIELDS = (
    Field(
        "scores",
        "Scores, 1 to 5 each, in this order",
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


class ReviewModal(DraftForm, template=r"portfolio:form:review:(?P<id>[0-9]{1,19})"):
    fields = REVIEW_FIELDS

    def __init__(
        self, score_order: str, request: Request, defaults: dict[str, str] | None = None
    ) -> None:
        self.score_order = score_order
        super().__init__(
            f"Review #{request.id}: {request.title}",
            f"portfolio:form:review:{request.id}",
            defaults,
        )

    def shown_fields(self) -> tuple[Field, ...]:
        scores = replace(self.fields[0], description=clip(self.score_order, LABEL_DESCRIPTION))
        return (scores, *self.fields[1:])

    @classmethod
    async def build(
        cls, interaction: discord.Interaction, match: re.Match[str], defaults: dict[str, str]
    ) -> ReviewModal:
        portfolio = bot_of(interaction).services.portfolio
        request = await portfolio.get(interaction.guild_id, int(match["id"]))
        return cls(portfolio.rubric.score_order, request, defaults)

    @classmethod
    async def handle(
        cls, interaction: discord.Interaction, match: re.Match[str], values: dict[str, str]
    ) -> None:
        draft = drafts.review_draft(bot_of(interaction).services.portfolio.rubric, **values)
        await _sent.finish_review(interaction, int(match["id"]), draft)


RATE_FIELDS = (
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


class RateModal(DraftForm, template=r"portfolio:form:rate:(?P<id>[0-9]{1,19})"):
    fields = RATE_FIELDS

    def __init__(self, request: Request, defaults: dict[str, str] | None = None) -> None:
        super().__init__(
            f"Rate the review of #{request.id}", f"portfolio:form:rate:{request.id}", defaults
        )

    @classmethod
    async def build(
        cls, interaction: discord.Interaction, match: re.Match[str], defaults: dict[str, str]
    ) -> RateModal:
        request = await bot_of(interaction).services.portfolio.get(
            interaction.guild_id, int(match["id"])
        )
        return cls(request, defaults)

    @classmethod
    async def handle(
        cls, interaction: discord.Interaction, match: re.Match[str], values: dict[str, str]
    ) -> None:
        helpful = drafts.parse_helpful(values["helpful"])
        comment = drafts.rating_comment(values["comment"])
        await _sent.finish_rating(interaction, int(match["id"]), helpful, comment)


FORMS: tuple[type[Form], ...] = (SubmitModal, ResubmitModal, ReviewModal, RateModal)
