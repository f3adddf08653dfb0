"""Reviewing submissions: the moderators' queue, one submission at a time with Accept /
Reject buttons, the verdict form, and the member told.

Both the buttons (`chal:rev:<a|r>:<id>:<version>`) and the form
(`chal:review:<a|r>:<id>:<version>`) carry the version of the submission the moderator was
shown, so they keep working after a restart and never judge blind: if the member edited it
since, the new version is shown with fresh buttons instead (and a verdict already typed is
quoted back).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import discord

from bot.app import MentorBot, bot_of
from bot.discord_limits import MESSAGE
from bot.errors import DomainError
from bot.markdown import clip_escaped, inline
from bot.services.challenges.model import ReviewOutcome, Submission
from bot.services.challenges.submissions import COMMENT_MAX, SubmissionChanged
from bot.ui.base import ReportsErrors
from bot.ui.checks import ensure_moderator, guild_id_of
from bot.ui.direct_messages import send_dm_quietly
from bot.ui.forms import Answers, Form, answer_with_quote
from bot.ui.pager import Page, reply_paged
from bot.ui.replies import clip, ping_only, reply
from cogs.challenges._embeds import submission_embed

CHANGED = "The member changed this submission since you opened it. Here is the new version:"
REVIEW_QUEUE = "chal-review"


async def reply_review_queue(interaction: discord.Interaction, kind: str, ref: str | None) -> None:
    """The queue of daily task answers (`ref` None) or of a weekly challenge's submissions."""
    await reply_paged(interaction, REVIEW_QUEUE, f"{kind},{ref or ''}")


async def review_page(interaction: discord.Interaction, args: str, key: int) -> Page:
    """One submission at a time (`key`: its id; 1 opens the first), with Accept / Reject
    while it waits. The queue changes as submissions are reviewed, so Previous and Next
    name the submissions around this one."""
    await ensure_moderator(interaction)  # still a moderator when paging later
    kind, _, ref = args.partition(",")
    submissions = bot_of(interaction).services.challenges.submissions
    queue = await submissions.queue(
        interaction.guild_id, kind, ref or None, include_reviewed=kind == "weekly"
    )
    if not queue:
        raise DomainError("Nothing to review right now.")
    ids = [s.id for s in queue]
    index = ids.index(key) if key in ids else 0
    submission = queue[index]
    title = (await submissions.title_of(submission))[0]
    embed = submission_embed(submission, title, index, len(queue))
    around = (
        ids[index - 1] if index > 0 else None,
        ids[index + 1] if index + 1 < len(ids) else None,
    )
    return Page(embed, index + 1, len(ids), review_buttons(submission), around)


class ReviewButton(
    ReportsErrors,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"chal:rev:(?P<verdict>[ar]):(?P<submission>[0-9]{1,19})(?::(?P<version>[0-9]{1,9}))?",
):
    """Accept or reject the version of a submission the moderator is looking at: opens a
    form for the points and comment. A newer version is shown instead (no blind verdict);
    an id without a version (older buttons) always shows the current one first."""

    def __init__(self, verdict: str, submission_id: int, version: int = 0) -> None:
        self.verdict = verdict
        self.submission_id = submission_id
        self.version = version
        accept = verdict == "a"
        super().__init__(
            discord.ui.Button(
                label="Accept" if accept else "Reject",
                style=discord.ButtonStyle.success if accept else discord.ButtonStyle.danger,
                custom_id=f"chal:rev:{verdict}:{submission_id}:{version}",
                row=0,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> ReviewButton:
        return cls(match["verdict"], int(match["submission"]), int(match["version"] or 0))

    async def handle(self, interaction: discord.Interaction) -> None:
        await ensure_moderator(interaction)
        submissions = bot_of(interaction).services.challenges.submissions
        submission = await submissions.get(guild_id_of(interaction), self.submission_id)
        if submission.status != "pending":
            await reply(interaction, f"This submission was already {submission.status}.")
            return
        if submission.version != self.version:
            await show_changed(interaction, submission)
            return
        await ReviewModal(submission, accept=self.verdict == "a").send_to(interaction)


def review_buttons(submission: Submission) -> list[discord.ui.Item[Any]]:
    """Accept / Reject of this version, under a submission waiting for its review."""
    if submission.status != "pending":
        return []
    return [
        ReviewButton("a", submission.id, submission.version),
        ReviewButton("r", submission.id, submission.version),
    ]


async def show_changed(
    interaction: discord.Interaction, submission: Submission, typed: Answers | None = None
) -> None:
    """The member edited the submission since it was shown: show the new version, with
    buttons for it, and quote back the verdict the moderator had typed (if any)."""
    title, _ = await bot_of(interaction).services.challenges.submissions.title_of(submission)
    view = discord.ui.View(timeout=None)
    for item in review_buttons(submission):
        view.add_item(item)
    embed = submission_embed(submission, title, 0, 1)
    if typed is None:
        await reply(interaction, CHANGED, embed=embed, view=view)
    else:
        await answer_with_quote(interaction, CHANGED, typed, ReviewModal.labels, view, embed=embed)


class ReviewModal(
    Form,
    template=r"chal:review:(?P<verdict>a|r):(?P<id>[0-9]{1,19}):(?P<version>[0-9]{1,9})",
):
    labels: ClassVar[dict[str, str]] = {
        "points": "Points (1 to 100)",
        "comment": "Comment or reason",
    }

    def __init__(self, submission: Submission, *, accept: bool) -> None:
        verb = "Accept" if accept else "Reject"
        verdict = "a" if accept else "r"
        super().__init__(
            title=f"{verb} submission #{submission.id}",
            custom_id=f"chal:review:{verdict}:{submission.id}:{submission.version}",
            timeout=None,
        )
        if accept and submission.kind == "weekly":
            self.add_item(
                discord.ui.TextInput(
                    label=self.labels["points"], custom_id="points", max_length=3, placeholder="50"
                )
            )
        self.add_item(
            discord.ui.TextInput(
                label="Comment" if accept else "Reason",
                custom_id="comment",
                style=discord.TextStyle.paragraph,
                required=not accept,
                max_length=COMMENT_MAX,
            )
        )

    @classmethod
    async def submit(
        cls, interaction: discord.Interaction, match: re.Match[str], answers: Answers
    ) -> None:
        await ensure_moderator(interaction)
        accept = match["verdict"] == "a"
        points = None
        if "points" in answers.values:
            text = answers.text("points").strip()
            if not text.isdigit():
                raise DomainError("Points must be a whole number from 1 to 100.")
            points = int(text)
        # Telling the member can take several calls to Discord (DM, then the thread).
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = bot_of(interaction)
        try:
            outcome = await bot.services.challenges.submissions.review(
                guild_id_of(interaction),
                int(match["id"]),
                interaction.user.id,
                accept=accept,
                comment=answers.text("comment"),
                points=points,
                version=int(match["version"]),
            )
        except SubmissionChanged as changed:
            await show_changed(interaction, changed.current, answers)
            return
        told = await tell_member(bot, guild_id_of(interaction), outcome)
        verdict = "Accepted" if accept else "Rejected"
        extra = f" with {outcome.submission.points} points" if accept else ""
        await reply(interaction, f"{verdict} submission #{outcome.submission.id}{extra}; {told}.")


async def tell_member(bot: MentorBot, guild_id: int, outcome: ReviewOutcome) -> str:
    """DM the member the verdict; fall back to a mention in the challenge's thread."""
    s = outcome.submission
    if s.status == "accepted":
        text = f"Your submission to '{inline(outcome.title)}' was accepted: +{s.points} points."
    else:
        text = f"Your submission to '{inline(outcome.title)}' was not accepted this time."
    if s.comment:
        text += f"\nModerator's comment: {clip_escaped(s.comment, 900)}"
    if await send_dm_quietly(bot, s.user_id, content=clip(text, MESSAGE)):
        return "the member was told by DM"
    if outcome.thread_id is None:
        return "the member could not be told (DMs closed, no thread)"
    try:
        await bot.get_partial_messageable(outcome.thread_id, guild_id=guild_id).send(
            clip(f"<@{s.user_id}> {text}", MESSAGE),
            allowed_mentions=ping_only(s.user_id),
        )
    except discord.HTTPException:
        return "the member could not be told (DMs closed, thread unavailable)"
    return "DMs are closed, so the member was mentioned in the thread"
