"""Buttons: the persistent ones on each request's post, and short-lived helper views."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from bot.services.portfolio.models import Request, Status
from bot.ui.base import MentorView, ReportsErrors

if TYPE_CHECKING:
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


ModalFactory = Callable[[], discord.ui.Modal]


class ChecklistView(MentorView):
    """The self-check before the form: both buttons open it; the choice is recorded."""

    def __init__(self, owner_id: int, open_form: Callable[[str], discord.ui.Modal]) -> None:
        super().__init__(owner_id=owner_id, timeout=900)
        self.open_form = open_form

    @discord.ui.button(label="Everything is ready", style=discord.ButtonStyle.success)
    async def ready(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(self.open_form("complete"))

    @discord.ui.button(label="Submit anyway", style=discord.ButtonStyle.secondary)
    async def anyway(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(self.open_form("skipped"))


class RetryView(MentorView):
    """Offered when a form was refused: reopens it with what the member typed."""

    def __init__(self, owner_id: int, reopen: ModalFactory) -> None:
        super().__init__(owner_id=owner_id, timeout=900)
        self.reopen = reopen

    @discord.ui.button(label="Edit and send again", style=discord.ButtonStyle.primary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_modal(self.reopen())
