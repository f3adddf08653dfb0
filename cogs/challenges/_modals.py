"""Forms: add a challenge, submit an answer, create a weekly challenge, review a submission."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.errors import DomainError
from bot.markdown import inline
from bot.services.challenges.bank_format import (
    EXPLANATION_MAX,
    HINT_MAX,
    PROMPT_MAX,
    TITLE_MAX,
)
from bot.services.challenges.links import LINK_MAX
from bot.services.challenges.model import Submission
from bot.services.challenges.submissions import COMMENT_MAX, NOTES_MAX, SubmissionChanged
from bot.services.challenges.weekly import BRIEF_MAX, RULES_MAX
from bot.services.challenges.weekly import TITLE_MAX as WEEKLY_TITLE_MAX
from bot.ui.base import MentorModal
from bot.ui.checks import ensure_moderator
from bot.ui.replies import clip, reply

if TYPE_CHECKING:
    from bot.app import MentorBot
    from cogs.challenges import ChallengesCog

MODAL_TITLE_LIMIT = 45


def _bot(interaction: discord.Interaction) -> MentorBot:
    return interaction.client  # type: ignore[return-value]


def _cog(interaction: discord.Interaction) -> ChallengesCog:
    return _bot(interaction).get_cog("ChallengesCog")  # type: ignore[return-value]


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


class AddChallengeModal(MentorModal):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(title=clip(f"New {fields['kind']}: {fields['id']}", MODAL_TITLE_LIMIT))
        self.fields = fields
        self.challenge_title = discord.ui.TextInput(
            label="Title", custom_id="title", max_length=TITLE_MAX
        )
        self.prompt = discord.ui.TextInput(
            label="Prompt",
            custom_id="prompt",
            style=discord.TextStyle.paragraph,
            max_length=PROMPT_MAX,
        )
        self.add_item(self.challenge_title)
        self.add_item(self.prompt)
        self.options: discord.ui.TextInput | None = None
        self.explanation: discord.ui.TextInput | None = None
        if fields["kind"] == "quiz":
            self.options = discord.ui.TextInput(
                label="Options: one per line, * before the right one",
                custom_id="options",
                style=discord.TextStyle.paragraph,
                placeholder="O(n)\n*O(log n)\nO(1)",
                max_length=500,
            )
            self.explanation = discord.ui.TextInput(
                label="Explanation (one paragraph)",
                custom_id="explanation",
                style=discord.TextStyle.paragraph,
                max_length=EXPLANATION_MAX,
            )
            self.add_item(self.options)
            self.add_item(self.explanation)
        self.hint = discord.ui.TextInput(
            label="Hint (short)", custom_id="hint", max_length=HINT_MAX
        )
        self.add_item(self.hint)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await ensure_moderator(interaction)
        raw: dict[str, object] = {
            **self.fields,
            "title": self.challenge_title.value,
            "prompt": self.prompt.value,
            "hint": self.hint.value,
            "tags": [],
        }
        if self.options is not None and self.explanation is not None:
            options, correct = parse_option_lines(self.options.value)
            raw["options"] = options
            if correct is not None:
                raw["correct"] = correct
            raw["explanation"] = self.explanation.value
        challenge = await _bot(interaction).services.challenges.bank.add(
            interaction.guild_id, interaction.user.id, raw
        )
        await reply(interaction, f"Added `{challenge.id}` ({inline(challenge.title)}) to the bank.")


class SubmitModal(MentorModal):
    def __init__(self, kind: str, ref: str, title: str, existing: Submission | None) -> None:
        verb = "Edit" if existing else "Submit"
        super().__init__(title=clip(f"{verb}: {title}", MODAL_TITLE_LIMIT))
        self.kind = kind
        self.ref = ref
        self.link = discord.ui.TextInput(
            label="Link (http or https)",
            custom_id="link",
            placeholder="https://github.com/you/project",
            required=False,
            max_length=LINK_MAX,
            default=existing.link if existing else None,
        )
        self.notes = discord.ui.TextInput(
            label="Notes",
            custom_id="notes",
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=NOTES_MAX,
            default=existing.notes if existing else None,
        )
        self.add_item(self.link)
        self.add_item(self.notes)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        result = await _bot(interaction).services.challenges.submissions.submit(
            interaction.guild_id,
            interaction.user.id,
            self.kind,
            self.ref,
            self.link.value,
            self.notes.value,
        )
        verb = "updated" if result.edited else "received"
        more = (
            " You can edit it with /challenge submit until the deadline."
            if self.kind == "weekly"
            else " A moderator will review it."
        )
        await reply(
            interaction,
            f"Submission to '{inline(result.title)}' {verb} (#{result.submission.id}).{more}",
        )


class WeeklyCreateModal(MentorModal):
    def __init__(self, zone_name: str) -> None:
        super().__init__(title="New weekly challenge")
        self.weekly_title = discord.ui.TextInput(
            label="Title", custom_id="title", max_length=WEEKLY_TITLE_MAX
        )
        self.brief = discord.ui.TextInput(
            label="Brief",
            custom_id="brief",
            style=discord.TextStyle.paragraph,
            max_length=BRIEF_MAX,
        )
        self.rules = discord.ui.TextInput(
            label="Rules",
            custom_id="rules",
            style=discord.TextStyle.paragraph,
            max_length=RULES_MAX,
        )
        self.deadline = discord.ui.TextInput(
            label=clip(f"Deadline, YYYY-MM-DD HH:MM ({zone_name})", 45),
            custom_id="deadline",
            placeholder="2026-03-15 18:00",
            max_length=20,
        )
        self.starts = discord.ui.TextInput(
            label="Start (empty: now), YYYY-MM-DD HH:MM",
            custom_id="starts",
            required=False,
            max_length=20,
        )
        for item in (self.weekly_title, self.brief, self.rules, self.deadline, self.starts):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await ensure_moderator(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        weekly = await _bot(interaction).services.challenges.weekly.create(
            interaction.guild_id,
            interaction.user.id,
            title=self.weekly_title.value,
            brief=self.brief.value,
            rules=self.rules.value,
            deadline=self.deadline.value,
            starts=self.starts.value,
        )
        cog = _cog(interaction)
        posted = await cog.start_weekly_if_due(weekly)
        when = f"<t:{int(weekly.deadline.timestamp())}:F>"
        if posted:
            text = (
                f"Weekly challenge #{weekly.id} '{inline(weekly.title)}' is posted; "
                f"deadline {when}."
            )
        elif weekly.starts_at > _bot(interaction).services.clock.now():
            start = f"<t:{int(weekly.starts_at.timestamp())}:F>"
            text = f"Weekly challenge #{weekly.id} is scheduled for {start}; deadline {when}."
        else:
            text = (
                f"Weekly challenge #{weekly.id} is saved, but I could not post it yet "
                "(check my permissions in the challenge channel); I will retry shortly."
            )
        await reply(interaction, text)


class ReviewModal(MentorModal):
    def __init__(self, submission: Submission, *, accept: bool) -> None:
        verb = "Accept" if accept else "Reject"
        super().__init__(title=f"{verb} submission #{submission.id}")
        self.submission = submission
        self.accept = accept
        self.points: discord.ui.TextInput | None = None
        if accept and submission.kind == "weekly":
            self.points = discord.ui.TextInput(
                label="Points (1 to 100)", custom_id="points", max_length=3, placeholder="50"
            )
            self.add_item(self.points)
        self.comment = discord.ui.TextInput(
            label="Comment" if accept else "Reason",
            custom_id="comment",
            style=discord.TextStyle.paragraph,
            required=not accept,
            max_length=COMMENT_MAX,
        )
        self.add_item(self.comment)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await ensure_moderator(interaction)
        points = None
        if self.points is not None:
            text = self.points.value.strip()
            if not text.isdigit():
                raise DomainError("Points must be a whole number from 1 to 100.")
            points = int(text)
        # Telling the member can take several calls to Discord (DM, then the thread).
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            outcome = await _bot(interaction).services.challenges.submissions.review(
                interaction.guild_id,
                self.submission.id,
                interaction.user.id,
                accept=self.accept,
                comment=self.comment.value,
                points=points,
                version=self.submission.version,
            )
        except SubmissionChanged as changed:
            await _cog(interaction).show_changed(interaction, changed.current)
            return
        told = await _cog(interaction).tell_member(interaction.guild_id, outcome)
        verdict = "Accepted" if self.accept else "Rejected"
        extra = f" with {outcome.submission.points} points" if self.accept else ""
        await reply(interaction, f"{verdict} submission #{outcome.submission.id}{extra}; {told}.")
