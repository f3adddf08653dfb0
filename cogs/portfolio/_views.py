"""The buttons on a request's post. They are DynamicItems (`portfolio:claim:42`), so they
work after a restart; what pressing one does is the cog's `Actions` (shared as
`PostActions`)."""

from __future__ import annotations

import re
from typing import Any, Protocol

import discord

from bot.app import bot_of
from bot.services.portfolio.models import Request, Status
from bot.ui.base import ReportsErrors

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


class PostActions(Protocol):
    async def run(self, action: str, interaction: discord.Interaction, request_id: int) -> None:
        """Claim, unclaim, review, withdraw or rate request `request_id`."""
        ...


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
        actions = bot_of(interaction).shared.get(PostActions)
        await actions.run(self.action, interaction, self.request_id)


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
