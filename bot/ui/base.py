"""Base classes for views and buttons that report their errors like commands do.

Forms (modals) are in bot/ui/forms.py."""

from __future__ import annotations

import contextlib
from typing import Any

import discord

from bot.shutdown import accepting
from bot.ui.errors import report_error
from bot.ui.replies import reply

SHUTTING_DOWN = "Mentor is restarting right now. Try again in a minute; nothing was changed."


class MentorView(discord.ui.View):
    """A view whose errors become the same short replies as command errors.

    `owner_id`, when set, is the only member who may use it (others get a short refusal).
    """

    def __init__(self, *, owner_id: int | None = None, timeout: float | None = 180) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.message: discord.Message | discord.InteractionMessage | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if not accepting(interaction.client):
            await interaction.response.send_message(SHUTTING_DOWN, ephemeral=True)
            return False
        if self.owner_id is not None and interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These buttons belong to someone else's command.", ephemeral=True
            )
            return False
        return True

    async def on_timeout(self) -> None:
        """Grey out the buttons so nobody clicks a dead view."""
        for item in self.children:
            if hasattr(item, "disabled"):
                item.disabled = True  # type: ignore[attr-defined]
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await report_error(interaction, error)


class ReportsErrors:
    """Mixed into a persistent button (before `discord.ui.DynamicItem`): `handle` does the
    work, any error becomes the same short reply as a command's, and once shutdown has
    begun the press is refused like a new command."""

    async def callback(self, interaction: discord.Interaction) -> None:
        if not accepting(interaction.client):
            await reply(interaction, SHUTTING_DOWN)
            return
        try:
            await self.handle(interaction)
        except Exception as error:
            await report_error(interaction, error)

    async def handle(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError
