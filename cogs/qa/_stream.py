"""The messages of one answer, kept in step with its text as it grows.

The first piece is the interaction's (deferred) response, later pieces are follow-ups.
Discord's interaction token lasts 15 minutes; after that (or as soon as Discord says the
token is gone) the answer goes out afresh as normal channel messages, or by DM when it
was private.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import discord

from bot.clock import Clock
from bot.discord_limits import INVALID_WEBHOOK_TOKEN, UNKNOWN_WEBHOOK
from bot.ui.replies import NO_PINGS

log = logging.getLogger(__name__)

TOKEN_LIFETIME = timedelta(minutes=15)
TOKEN_MARGIN = timedelta(seconds=30)
EXPIRED_TOKEN_CODES = {UNKNOWN_WEBHOOK, INVALID_WEBHOOK_TOKEN}

Editor = Callable[..., Awaitable[Any]]


@dataclass
class _Sent:
    content: str
    edit: Editor
    delete: Callable[[], Awaitable[Any]] | None
    extras: bool = False
    message_id: int | None = None


@dataclass
class AnswerOutput:
    interaction: discord.Interaction
    private: bool
    clock: Clock
    started: datetime
    sent: list[_Sent] = field(default_factory=list)
    expired: bool = False

    @property
    def deadline(self) -> datetime:
        return self.started + TOKEN_LIFETIME - TOKEN_MARGIN

    @property
    def last_message_id(self) -> int | None:
        return self.sent[-1].message_id if self.sent else None

    async def show(
        self,
        pieces: list[str],
        *,
        view: discord.ui.View | None = None,
        embed: discord.Embed | None = None,
    ) -> None:
        """Make the answer's messages read `pieces`; `view` and `embed` go on the last one."""
        if not self.expired and self.clock.now() >= self.deadline:
            self._expire()
        try:
            await self._sync(pieces, view, embed)
        except discord.HTTPException as exc:
            if self.expired or exc.code not in EXPIRED_TOKEN_CODES:
                raise
            self._expire()
            await self._sync(pieces, view, embed)

    def _expire(self) -> None:
        log.info("Interaction %s expired: answering with normal messages", self.interaction.id)
        self.expired = True
        self.sent = []

    async def _sync(
        self, pieces: list[str], view: discord.ui.View | None, embed: discord.Embed | None
    ) -> None:
        pieces = pieces or ["…"]
        last = len(pieces) - 1
        for index, content in enumerate(pieces):
            extras = index == last and (view is not None or embed is not None)
            options: dict[str, Any] = {}
            if index == last:
                options = {"view": view, "embed": embed}
            if index < len(self.sent):
                current = self.sent[index]
                if current.content == content and not extras and not current.extras:
                    continue
                if index != last and current.extras:
                    options = {"view": None, "embed": None}
                await current.edit(content=content, allowed_mentions=NO_PINGS, **options)
                current.content, current.extras = content, extras
            else:
                self.sent.append(await self._send(index, content, options, extras))
        for extra in self.sent[len(pieces) :]:
            if extra.delete is not None:
                try:
                    await extra.delete()
                except discord.HTTPException:
                    log.debug("Could not delete a surplus answer message", exc_info=True)
        del self.sent[len(pieces) :]

    async def _send(self, index: int, content: str, options: dict[str, Any], extras: bool) -> _Sent:
        options = {k: v for k, v in options.items() if v is not None}
        if self.expired:
            message = await self._destination().send(content, allowed_mentions=NO_PINGS, **options)
            return _Sent(content, message.edit, message.delete, extras, message.id)
        if index == 0:
            message = await self.interaction.edit_original_response(
                content=content, allowed_mentions=NO_PINGS, **options
            )
            return _Sent(content, self.interaction.edit_original_response, None, extras, message.id)
        message = await self.interaction.followup.send(
            content, ephemeral=self.private, wait=True, allowed_mentions=NO_PINGS, **options
        )
        return _Sent(content, message.edit, message.delete, extras, message.id)

    def _destination(self) -> discord.abc.Messageable:
        if self.private:
            return self.interaction.user
        channel = self.interaction.channel
        if isinstance(channel, discord.abc.Messageable):
            return channel
        return self.interaction.client.get_partial_messageable(  # type: ignore[attr-defined]
            self.interaction.channel_id, guild_id=self.interaction.guild_id
        )
