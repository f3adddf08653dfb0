"""Forms: add a challenge to the bank, submit an answer, create a weekly challenge (the
review form is in _review)."""

from __future__ import annotations

import re
from typing import ClassVar

import discord

from bot.app import bot_of
from bot.discord_limits import INPUT_LABEL, MODAL_TITLE
from bot.errors import DomainError
from bot.markdown import inline
from bot.services.challenges.bank_format import (
    EXPLANATION_MAX,
    HINT_MAX,
    PROMPT_MAX,
    TITLE_MAX,
)
from bot.services.challenges.model import Submission
from bot.services.challenges.submissions import NOTES_MAX
from bot.services.challenges.weekly import BRIEF_MAX, RULES_MAX
from bot.services.challenges.weekly import TITLE_MAX as WEEKLY_TITLE_MAX
from bot.services.links import LINK_MAX_CHARS
from bot.ui.checks import ensure_moderator
from bot.ui.forms import Answers, Form
from bot.ui.replies import clip, reply
from cogs.challenges._jobs import ChallengeJobs


def parse_option_lines(text: str) -> tuple[list[str], int | None]:
    """One option per line; the correct one starts with '*'. Returns (options, correct)."""
    options: list[str] = []
    correct: int | None = None
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("*"):
            if correct is not None:
                raise DomainError("Mark exactly one option with '*': you marked two.")
            correct = len(options) + 1
            line = line[1:].strip()
        options.append(line)
    return options, correct


class AddChallengeModal(
    Form,
    template=r"chal:add:(?P<kind>quiz|task):(?P<phase>[a-z_]{1,30}):(?P<topic>[a-z_]{1,30}):"
    r"(?P<difficulty>[a-z]{1,10}):(?P<id>.{1,40})",
):
    labels: ClassVar[dict[str, str]] = {
        "title": "Title",
        "prompt": "Prompt",
        "options": "Options: one per line, * before the right one",
        "explanation": "Explanation (one paragraph)",
        "hint": "Hint (short)",
    }

    def __init__(self, fields: dict[str, str]) -> None:
        parts = ("kind", "phase", "topic", "difficulty", "id")
        custom_id = ":".join(["chal:add", *(fields[part] for part in parts)])
        super().__init__(
            title=clip(f"New {fields['kind']}: {fields['id']}", MODAL_TITLE),
            custom_id=custom_id,
            timeout=None,
        )
        self.add_item(_input(self.labels, "title", max_length=TITLE_MAX))
        self.add_item(_input(self.labels, "prompt", max_length=PROMPT_MAX, paragraph=True))
        if fields["kind"] == "quiz":
            self.add_item(
                _input(
                    self.labels,
                    "options",
                    max_length=500,
                    paragraph=True,
                    placeholder="O(n)\n*O(log n)\nO(1)",
                )
            )
            self.add_item(
                _input(self.labels, "explanation", max_length=EXPLANATION_MAX, paragraph=True)
            )
        self.add_item(_input(self.labels, "hint", max_length=HINT_MAX))

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        await ensure_moderator(interaction)
        raw: dict[str, object] = {
            key: match[key] for key in ("id", "kind", "phase", "topic", "difficulty")
        }
        raw.update(answers.texts(["title", "prompt", "hint"]), tags=[])
        if match["kind"] == "quiz":
            options, correct = parse_option_lines(answers.text("options"))
            raw["options"] = options
            if correct is not None:
                raw["correct"] = correct
            raw["explanation"] = answers.text("explanation")
        challenge = await bot_of(interaction).services.challenges.bank.add(
            interaction.guild_id, interaction.user.id, raw
        )
        await reply(interaction, f"Added `{challenge.id}` ({inline(challenge.title)}) to the bank.")


class SubmitModal(Form, template=r"chal:submit:(?P<kind>daily|weekly):(?P<ref>[0-9]{1,19})"):
    labels: ClassVar[dict[str, str]] = {"link": "Link (http or https)", "notes": "Notes"}

    def __init__(self, kind: str, ref: str, title: str, existing: Submission | None) -> None:
        verb = "Edit" if existing else "Submit"
        super().__init__(
            title=clip(f"{verb}: {title}", MODAL_TITLE),
            custom_id=f"chal:submit:{kind}:{ref}",
            timeout=None,
        )
        self.add_item(
            _input(
                self.labels,
                "link",
                max_length=LINK_MAX_CHARS,
                required=False,
                placeholder="https://github.com/you/project",
                default=existing.link if existing else None,
            )
        )
        self.add_item(
            _input(
                self.labels,
                "notes",
                max_length=NOTES_MAX,
                paragraph=True,
                required=False,
                default=existing.notes if existing else None,
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        kind = match["kind"]
        result = await bot_of(interaction).services.challenges.submissions.submit(
            interaction.guild_id,
            interaction.user.id,
            kind,
            match["ref"],
            answers.text("link"),
            answers.text("notes"),
        )
        verb = "updated" if result.edited else "received"
        more = (
            " You can edit it with /challenge submit until the deadline."
            if kind == "weekly"
            else " A moderator will review it."
        )
        await reply(
            interaction,
            f"Submission to '{inline(result.title)}' {verb} (#{result.submission.id}).{more}",
        )


class WeeklyCreateModal(Form, template=r"chal:weekly-create"):
    labels: ClassVar[dict[str, str]] = {
        "title": "Title",
        "brief": "Brief",
        "rules": "Rules",
        "deadline": "Deadline",
        "starts": "Start",
    }

    def __init__(self, zone_name: str) -> None:
        super().__init__(title="New weekly challenge", custom_id="chal:weekly-create", timeout=None)
        self.add_item(_input(self.labels, "title", max_length=WEEKLY_TITLE_MAX))
        self.add_item(_input(self.labels, "brief", max_length=BRIEF_MAX, paragraph=True))
        self.add_item(_input(self.labels, "rules", max_length=RULES_MAX, paragraph=True))
        self.add_item(
            _input(
                self.labels,
                "deadline",
                label=clip(f"Deadline, YYYY-MM-DD HH:MM ({zone_name})", INPUT_LABEL),
                placeholder="2026-03-15 18:00",
                max_length=20,
            )
        )
        self.add_item(
            _input(
                self.labels,
                "starts",
                label="Start (empty: now), YYYY-MM-DD HH:MM",
                required=False,
                max_length=20,
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        await ensure_moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        weekly = await bot_of(interaction).services.challenges.weekly.create(
            interaction.guild_id,
            interaction.user.id,
            **answers.texts(["title", "brief", "rules", "deadline", "starts"]),
        )
        posted = await bot_of(interaction).shared.get(ChallengeJobs).start_weekly(weekly)
        when = f"<t:{int(weekly.deadline.timestamp())}:F>"
        if posted:
            text = (
                f"Weekly challenge #{weekly.id} '{inline(weekly.title)}' is posted; "
                f"deadline {when}."
            )
        elif weekly.starts_at > bot_of(interaction).services.clock.now():
            start = f"<t:{int(weekly.starts_at.timestamp())}:F>"
            text = f"Weekly challenge #{weekly.id} is scheduled for {start}; deadline {when}."
        else:
            text = (
                f"Weekly challenge #{weekly.id} is saved, but I could not post it yet "
                "(check my permissions in the challenge channel); I will retry shortly."
            )
        await reply(interaction, text)


def _input(
    labels: dict[str, str],
    key: str,
    *,
    max_length: int,
    label: str | None = None,
    paragraph: bool = False,
    required: bool = True,
    placeholder: str | None = None,
    default: str | None = None,
) -> discord.ui.TextInput:
    return discord.ui.TextInput(
        label=label or labels[key],
        custom_id=key,
        style=discord.TextStyle.paragraph if paragraph else discord.TextStyle.short,
        required=required,
        max_length=max_length,
        placeholder=placeholder,
        default=default,
    )


FORMS: tuple[type[Form], ...] = (AddChallengeModal, SubmitModal, WeeklyCreateModal)
