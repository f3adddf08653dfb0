"""Ask once more before something that can't be undone: Confirm or Cancel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from bot.ui.base import MentorView

ALREADY_HANDLED = "Already handled: see the message above."


class ConfirmView(MentorView):
    """Two buttons; only the member who asked can press, and only the first press counts.

    `on_confirm(interaction)` answers the confirming press itself (usually by editing the
    question); Cancel replaces the question with `cancelled`.
    """

    def __init__(
        self,
        owner_id: int,
        confirm_label: str,
        on_confirm: Callable[[discord.Interaction], Awaitable[None]],
        *,
        cancelled: str = "Nothing changed.",
        timeout: float = 120,
    ) -> None:
        super().__init__(owner_id=owner_id, timeout=timeout)
        self.on_confirm = on_confirm
        self.cancelled = cancelled
        self.decided = False
        self.confirm.label = confirm_label

    async def _claim(self, interaction: discord.Interaction) -> bool:
        """The first press wins; a second (double click, other button) is told so."""
        if self.decided:
            await interaction.response.send_message(ALREADY_HANDLED, ephemeral=True)
            return False
        self.decided = True
        self.stop()
        return True

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        if await self._claim(interaction):
            await self.on_confirm(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        if await self._claim(interaction):
            await interaction.response.edit_message(content=self.cancelled, embed=None, view=None)
