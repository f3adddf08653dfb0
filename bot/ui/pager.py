"""Previous / Next through the pages of an embed, for the member who asked.

The buttons are persistent: their custom_id names the list (a loader registered on the bot
in `bot.pagers`), the member who asked, the page and the list's filters
(`page:chal-board:123:2:next:week`), so a list shown before a restart still pages after it.
Every press loads the page afresh.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.errors import DomainError
from bot.ui.base import ReportsErrors
from bot.ui.confirm import NOT_YOURS
from bot.ui.replies import reply

NAME_MAX, ARGS_MAX = 16, 30  # with the rest, a custom_id stays within Discord's 100


@dataclass(frozen=True)
class Page:
    embed: discord.Embed
    page: int  # the page shown, from 1
    pages: int
    items: Sequence[discord.ui.Item[Any]] = field(default=())  # buttons of this page
    # For lists that change while they are paged: the keys Previous and Next load (None:
    # there is none), instead of page - 1 and page + 1.
    neighbours: tuple[int | None, int | None] | None = None

    def targets(self) -> tuple[int | None, int | None]:
        if self.neighbours is not None:
            return self.neighbours
        previous = self.page - 1 if self.page > 1 else None
        return previous, self.page + 1 if self.page < self.pages else None


# load(interaction, args, page) -> the page, clamped to the pages there are
PageLoader = Callable[[discord.Interaction, str, int], Awaitable[Page]]


class Pagers:
    """The bot's paged lists by name; cogs add theirs when they load."""

    def __init__(self) -> None:
        self._loaders: dict[str, PageLoader] = {}

    def add(self, name: str, loader: PageLoader) -> None:
        if not re.fullmatch(rf"[a-z-]{{1,{NAME_MAX}}}", name):
            raise ValueError(f"pager name {name!r}: 1-{NAME_MAX} of a-z and dashes")
        self._loaders[name] = loader

    def remove(self, name: str) -> None:
        self._loaders.pop(name, None)

    def get(self, name: str) -> PageLoader:
        loader = self._loaders.get(name)
        if loader is None:
            raise DomainError("This list can no longer be paged: run the command again.")
        return loader


class PageButton(
    ReportsErrors,
    discord.ui.DynamicItem[discord.ui.Button],
    template=rf"page:(?P<name>[a-z-]{{1,{NAME_MAX}}}):(?P<owner>[0-9]{{1,20}}):"
    rf"(?P<page>[0-9]{{1,20}}):(?P<dir>prev|next):(?P<args>[^:]{{0,{ARGS_MAX}}})",
):
    def __init__(
        self, name: str, owner_id: int, page: int, direction: str, args: str, disabled: bool
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label="Previous" if direction == "prev" else "Next",
                style=discord.ButtonStyle.secondary,
                custom_id=f"page:{name}:{owner_id}:{page}:{direction}:{args}",
                disabled=disabled,
                row=4,
            )
        )
        self.name, self.owner_id, self.page, self.args = name, owner_id, page, args

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> PageButton:
        return cls(
            match["name"],
            int(match["owner"]),
            int(match["page"]),
            match["dir"],
            match["args"],
            False,
        )

    async def handle(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.owner_id:
            await reply(interaction, NOT_YOURS)
            return
        pagers: Pagers = interaction.client.pagers  # type: ignore[attr-defined]
        page = await pagers.get(self.name)(interaction, self.args, self.page)
        view = page_view(self.name, self.owner_id, page, self.args) or discord.ui.View()
        await interaction.response.edit_message(embed=page.embed, view=view)


def page_view(name: str, owner_id: int, page: Page, args: str = "") -> discord.ui.View | None:
    """The page's own buttons, then Previous / Next when there is more than one page."""
    if len(args) > ARGS_MAX or ":" in args:
        raise ValueError(f"pager arguments {args!r}: at most {ARGS_MAX} characters, no ':'")
    if page.pages <= 1 and not page.items:
        return None
    view = discord.ui.View(timeout=None)
    for item in page.items:
        view.add_item(item)
    if page.pages > 1:
        previous, following = page.targets()
        for target, direction in ((previous, "prev"), (following, "next")):
            key = page.page if target is None else target
            view.add_item(PageButton(name, owner_id, key, direction, args, target is None))
    return view


def embed_page(embeds: Sequence[discord.Embed], page: int) -> Page:
    """One of `embeds` built in advance; pages count from 1."""
    page = min(max(1, page), len(embeds))
    return Page(embeds[page - 1], page, len(embeds))


async def reply_paged(interaction: discord.Interaction, name: str, args: str = "") -> None:
    """Answer with page 1 of the list `name` (registered in `bot.pagers`), with its buttons."""
    pagers: Pagers = interaction.client.pagers  # type: ignore[attr-defined]
    page = await pagers.get(name)(interaction, args, 1)
    view = page_view(name, interaction.user.id, page, args)
    await reply(interaction, embed=page.embed, **({"view": view} if view is not None else {}))
