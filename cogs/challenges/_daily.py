"""The daily challenge's buttons (answer, hint) and the practice quiz's. They are
DynamicItems: their custom id carries the state (`chal:<action>:...`), so they keep
working after a restart."""

from __future__ import annotations

import re

import discord

from bot.app import bot_of
from bot.discord_limits import BUTTON_LABEL
from bot.services.challenges.model import Challenge, DailyPost
from bot.ui.base import ReportsErrors
from bot.ui.checks import guild_id_of
from bot.ui.replies import clip, reply
from cogs.challenges._embeds import LETTERS
from cogs.challenges._live import LiveCounts


class AnswerButton(
    ReportsErrors,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"chal:ans:(?P<post>[0-9]{1,19}):(?P<option>[0-4])",
):
    """One option of a daily quiz."""

    def __init__(self, post_id: int, option: int, label: str = "Answer") -> None:
        self.post_id = post_id
        self.option = option
        super().__init__(
            discord.ui.Button(
                label=clip(label, BUTTON_LABEL),
                style=discord.ButtonStyle.secondary,
                custom_id=f"chal:ans:{post_id}:{option}",
                row=0,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> AnswerButton:
        return cls(int(match["post"]), int(match["option"]), item.label or "Answer")

    async def handle(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        result = await bot.services.challenges.daily.answer(
            guild_id_of(interaction), self.post_id, interaction.user.id, self.option
        )
        if result.correct:
            text = f"Correct, +{result.points} points!"
            if result.explanation:
                text += f"\n{result.explanation}"
        else:
            text = (
                f"Not this time: you picked '{result.chosen}'. "
                f"The right answer is **{result.right_answer}**.\n{result.explanation}"
            )
        await reply(interaction, text)
        bot.shared.get(LiveCounts).touch(self.post_id)


class HintButton(
    ReportsErrors,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"chal:hint:(?P<post>[0-9]{1,19})",
):
    def __init__(self, post_id: int) -> None:
        self.post_id = post_id
        super().__init__(
            discord.ui.Button(
                label="Hint",
                style=discord.ButtonStyle.primary,
                custom_id=f"chal:hint:{post_id}",
                row=1,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> HintButton:
        return cls(int(match["post"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        challenge, costs = await bot.services.challenges.daily.hint(
            guild_id_of(interaction), self.post_id, interaction.user.id
        )
        note = ""
        if costs and challenge.is_quiz:
            note = (
                f"\n(A correct answer now earns {bot.services.settings.challenge_hint_points}"
                f" points instead of {bot.services.settings.challenge_daily_points}.)"
            )
        await reply(interaction, f"Hint: {challenge.hint}{note}")


class PracticeButton(
    ReportsErrors,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"chal:prac:(?P<challenge>[a-z0-9-]{3,40}):(?P<option>[0-4])",
):
    """An option of a private practice quiz: graded from the bank, no points."""

    def __init__(self, challenge_id: str, option: int, label: str = "Answer") -> None:
        self.challenge_id = challenge_id
        self.option = option
        super().__init__(
            discord.ui.Button(
                label=clip(label, BUTTON_LABEL),
                style=discord.ButtonStyle.secondary,
                custom_id=f"chal:prac:{challenge_id}:{option}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> PracticeButton:
        return cls(match["challenge"], int(match["option"]), item.label or "Answer")

    async def handle(self, interaction: discord.Interaction) -> None:
        result = await bot_of(interaction).services.challenges.daily.check_practice(
            guild_id_of(interaction), self.challenge_id, self.option
        )
        if result.correct:
            text = f"Correct! {result.explanation}"
        else:
            text = f"Not quite: the answer is **{result.right_answer}**.\n{result.explanation}"
        await reply(interaction, text + "\nRun `/challenge practice` again for another.")


def daily_view(post: DailyPost) -> discord.ui.View:
    """The buttons under a daily post: one per option (quiz) and a Hint."""
    view = discord.ui.View(timeout=None)
    challenge = post.challenge
    if challenge.is_quiz:
        for n, index in enumerate(challenge.display_order):
            label = f"{LETTERS[n]}. {challenge.options[index]}"
            view.add_item(AnswerButton(post.id, index, label))
    view.add_item(HintButton(post.id))
    return view


def practice_view(challenge: Challenge) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for n, index in enumerate(challenge.display_order):
        label = f"{LETTERS[n]}. {challenge.options[index]}"
        view.add_item(PracticeButton(challenge.id, index, label))
    return view
