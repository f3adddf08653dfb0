"""Ask once more before something that can't be undone: Confirm or Cancel.

The buttons are persistent: their custom_id names the confirmation, the member who asked
and what it is about (`confirm:privacy-delete:yes:123`), and a registry on the bot
(`bot.confirmations`) holds what confirming does. So a question asked before a restart can
be answered after it. Only the member who asked can press, and a double click counts once.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord

from bot.errors import DomainError
from bot.ui.base import ReportsErrors
from bot.ui.replies import reply

ALREADY_HANDLED = "Already handled: see the message above."
NOT_YOURS = "These buttons belong to someone else's command."
REMEMBERED = 1000  # questions answered in this process, to count a double click once

OnConfirm = Callable[[discord.Interaction, int | None], Awaitable[None]]


@dataclass(frozen=True)
class Confirmation:
    """What confirming `name` does: `on_confirm(interaction, about)` answers the press
    itself (usually by editing the question); Cancel replaces the question with `cancelled`."""

    name: str
    on_confirm: OnConfirm
    cancelled: str = "Nothing changed."


class Confirmations:
    """The bot's confirmations by name; cogs add theirs when they load."""

    def __init__(self) -> None:
        self._known: dict[str, Confirmation] = {}
        self._answered: OrderedDict[int, None] = OrderedDict()

    def add(self, confirmation: Confirmation) -> None:
        self._known[confirmation.name] = confirmation

    def remove(self, name: str) -> None:
        self._known.pop(name, None)

    def get(self, name: str) -> Confirmation:
        found = self._known.get(name)
        if found is None:
            raise DomainError("This question can no longer be answered: run the command again.")
        return found

    def first_answer(self, message_id: int) -> bool:
        """True the first time a question (its message) is answered in this process."""
        if message_id in self._answered:
            return False
        self._answered[message_id] = None
        if len(self._answered) > REMEMBERED:
            self._answered.popitem(last=False)
        return True


class ConfirmButton(
    ReportsErrors,
    discord.ui.DynamicItem[discord.ui.Button],
    template=r"confirm:(?P<name>[a-z-]{1,30}):(?P<choice>yes|no):(?P<owner>[0-9]{1,20})"
    r"(?::(?P<about>[0-9]{1,20}))?",
):
    def __init__(
        self, name: str, choice: str, owner_id: int, about: int | None, label: str
    ) -> None:
        suffix = f":{about}" if about is not None else ""
        style = discord.ButtonStyle.danger if choice == "yes" else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"confirm:{name}:{choice}:{owner_id}{suffix}"
            )
        )
        self.name, self.choice, self.owner_id, self.about = name, choice, owner_id, about

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ConfirmButton:
        about = int(match["about"]) if match["about"] else None
        label = getattr(item, "label", None) or "Confirm"
        return cls(match["name"], match["choice"], int(match["owner"]), about, label)

    async def handle(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.owner_id:
            await reply(interaction, NOT_YOURS)
            return
        confirmations: Confirmations = interaction.client.confirmations  # type: ignore[attr-defined]
        confirmation = confirmations.get(self.name)
        message = interaction.message
        if message is not None and not confirmations.first_answer(message.id):
            await reply(interaction, ALREADY_HANDLED)
            return
        if self.choice == "yes":
            await confirmation.on_confirm(interaction, self.about)
        else:
            await interaction.response.edit_message(
                content=confirmation.cancelled, embed=None, view=None
            )


def confirm_view(
    name: str, owner_id: int, confirm_label: str, about: int | None = None
) -> discord.ui.View:
    """Confirm and Cancel for the confirmation `name`, pressable only by `owner_id`."""
    view = discord.ui.View(timeout=None)
    view.add_item(ConfirmButton(name, "yes", owner_id, about, confirm_label))
    view.add_item(ConfirmButton(name, "no", owner_id, about, "Cancel"))
    return view
