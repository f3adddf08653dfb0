"""The self-check shown before a request form, and its two buttons (`ChecklistButton`):
"Everything is ready" or "Submit anyway" open the form, and the choice is recorded."""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.app import bot_of
from bot.errors import DomainError
from bot.ui.base import ReportsErrors
from cogs.portfolio._forms import ResubmitModal, SubmitModal

CHECK_TEMPLATE = re.compile(
    r"^portfolio:open:(?P<form>submit|resubmit):(?P<about>[a-z0-9_]{1,40}):"
    r"(?P<check>complete|skipped)$"
)
CHECK_LABELS = {
    "complete": ("Everything is ready", discord.ButtonStyle.success),
    "skipped": ("Submit anyway", discord.ButtonStyle.secondary),
}


class ChecklistButton(
    ReportsErrors, discord.ui.DynamicItem[discord.ui.Button], template=CHECK_TEMPLATE
):
    """Under the self-check: opens the request form (`about` is the project type) or the
    next round's form (`about` is the reviewed request); the choice is recorded."""

    def __init__(self, form: str, about: str, check: str) -> None:
        label, style = CHECK_LABELS[check]
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"portfolio:open:{form}:{about}:{check}"
            )
        )
        self.form, self.about, self.check = form, about, check

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ChecklistButton:
        return cls(match["form"], match["about"], match["check"])

    async def handle(self, interaction: discord.Interaction) -> None:
        portfolio, user_id = bot_of(interaction).services.portfolio, interaction.user.id
        if self.form == "submit":
            archetype = portfolio.rubric.archetype(self.about).key
            await portfolio.ensure_can_submit(interaction.guild_id, user_id)
            await SubmitModal(archetype, self.check).send_to(interaction)
            return
        if not self.about.isdigit():
            raise DomainError("That request number is not valid.")
        previous = await portfolio.ensure_can_resubmit(
            interaction.guild_id, user_id, int(self.about)
        )
        await ResubmitModal(previous, self.check).send_to(interaction)


def checklist_view(form: str, about: str | int) -> discord.ui.View:
    """The two buttons under the self-check; they keep working after a restart."""
    view = discord.ui.View(timeout=None)
    for check in CHECK_LABELS:
        view.add_item(ChecklistButton(form, str(about), check))
    return view
