"""Previous / Next through the pages of an embed, for the member who asked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import discord

from bot.ui.base import MentorView
from bot.ui.replies import reply

PageLoader = Callable[[int], Awaitable[tuple[discord.Embed, int, int]]]


class PagerView(MentorView):
    """`load(page)` returns (embed, page, pages): the page shown and how many there are."""

    def __init__(
        self, owner_id: int, load: PageLoader, page: int, pages: int, *, timeout: float = 600
    ) -> None:
        super().__init__(owner_id=owner_id, timeout=timeout)
        self.load = load
        self.page = page
        self._update(pages)

    def _update(self, pages: int) -> None:
        self.previous.disabled = self.page <= 1
        self.next.disabled = self.page >= pages

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._show(interaction, self.page + 1)

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        embed, self.page, pages = await self.load(page)
        self._update(pages)
        await interaction.response.edit_message(embed=embed, view=self)


def embed_list_loader(embeds: Sequence[discord.Embed]) -> PageLoader:
    """A loader over embeds built in advance; pages count from 1."""

    async def load(page: int) -> tuple[discord.Embed, int, int]:
        page = min(max(1, page), len(embeds))
        return embeds[page - 1], page, len(embeds)

    return load


async def reply_paged(
    interaction: discord.Interaction, load: PageLoader, *, idle_seconds: float = 600
) -> None:
    """Answer with page 1, and Previous / Next when there is more than one page."""
    embed, page, pages = await load(1)
    if pages <= 1:
        await reply(interaction, embed=embed)
        return
    view = PagerView(interaction.user.id, load, page, pages, timeout=idle_seconds)
    first_answer = not interaction.response.is_done()
    await reply(interaction, embed=embed, view=view)
    if first_answer:  # so the buttons can be greyed out when the view times out
        view.message = await interaction.original_response()
