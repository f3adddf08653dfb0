"""Buttons: the persistent ones on each request's post, and short-lived helper views."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.errors import DomainError
from bot.services.portfolio.models import Request, Status
from bot.ui.base import MentorView, ReportsErrors
from bot.ui.forms import again_custom_id

if TYPE_CHECKING:
    from bot.ui.forms import Form
    from cogs.portfolio import PortfolioCog

BUTTONS = {
    "claim": ("Claim", discord.ButtonStyle.success),
    "review": ("Submit review", discord.ButtonStyle.primary),
    "unclaim": ("Unclaim", discord.ButtonStyle.secondary),
    "withdraw": ("Withdraw", discord.ButtonStyle.danger),
    "rate": ("Rate the review", discord.ButtonStyle.primary),
}
TEMPLATE = re.compile(
    r"^portfolio:(?P<action>claim|review|unclaim|withdraw|rate):(?P<id>[0-9]{1,19})$"
)
COG_NAME = "PortfolioCog"


class RequestButton(ReportsErrors, discord.ui.DynamicItem[discord.ui.Button], template=TEMPLATE):
    """A button on a request's post, e.g. `portfolio:claim:42`; works after restarts."""

    def __init__(self, action: str, request_id: int) -> None:
        label, style = BUTTONS[action]
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"portfolio:{action}:{request_id}"
            )
        )
        self.action = action
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RequestButton:
        return cls(match["action"], int(match["id"]))

    async def handle(self, interaction: discord.Interaction) -> None:
        cog: PortfolioCog | None = interaction.client.get_cog(COG_NAME)  # type: ignore[attr-defined]
        if cog is None:
            raise RuntimeError("the portfolio cog is not loaded")
        await cog.actions.run(self.action, interaction, self.request_id)


def post_buttons(request: Request, *, rated: bool) -> list[str]:
    """Which buttons a post shows in each state."""
    if request.status is Status.OPEN:
        return ["claim", "withdraw"]
    if request.status is Status.CLAIMED:
        return ["review", "unclaim", "withdraw"]
    if request.status is Status.REVIEWED and not rated:
        return ["rate"]
    return []


def post_view(request: Request, *, rated: bool) -> discord.ui.View | None:
    actions = post_buttons(request, rated=rated)
    if not actions:
        return None
    view = discord.ui.View(timeout=None)
    for action in actions:
        view.add_item(RequestButton(action, request.id))
    return view


def rate_view(request_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RequestButton("rate", request_id))
    return view


FormFactory = Callable[[], "Form"]
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
        from cogs.portfolio._modals import ResubmitModal, SubmitModal

        cog: PortfolioCog | None = interaction.client.get_cog(COG_NAME)  # type: ignore[attr-defined]
        if cog is None:
            raise RuntimeError("the portfolio cog is not loaded")
        portfolio, user_id = cog.portfolio, interaction.user.id
        if self.form == "submit":
            archetype = cog.rubric.archetype(self.about).key
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


class RetryView(MentorView):
    """Offered when a form was refused: reopens it with what the member typed.

    It lives in memory until a restart (what was typed is too long for a custom_id); after
    one its button answers that it stopped working (`AgainAfterRestart`), and the refusal
    above it quotes the text anyway.
    """

    def __init__(self, client: discord.Client, owner_id: int, reopen: FormFactory) -> None:
        super().__init__(owner_id=owner_id, timeout=None)
        self.reopen = reopen
        self.again.custom_id = again_custom_id(client)

    @discord.ui.button(label="Edit and send again", style=discord.ButtonStyle.primary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self.reopen().send_to(interaction)
