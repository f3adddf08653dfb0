"""Applying phase and streak roles on Discord, with the policy for what Discord refuses.

The roles service (roles.py) says which members need which change; this applies a batch
through a `RoleGateway` (Discord, in the cog) and keeps the rules:

- a role Discord refuses (missing permission, a role above the bot's) is not recorded as
  given, is not tried again in the same tick, and its mapping is stopped (`refused`): the
  moderators are told once;
- a role that became dangerous is never given, and its mapping is suspended; the mappings
  in use are audited at start-up and then once a day;
- a role the member already held is recorded as held, not granted, so it is never taken
  away; a member who left the server holds nothing from us any more;
- the changes of a server whose roles cannot be read yet wait for a later tick.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Protocol

from bot.services.roadmap.roles import RoleChange, RoleService

log = logging.getLogger(__name__)


class RoleRefused(Exception):
    """Discord refused to give or take the role."""


class MemberGone(Exception):
    """The member is no longer in the server."""


class RoleGateway(Protocol):
    """What applying roles needs from Discord."""

    def ready(self, guild_id: int) -> bool:
        """Whether the server's roles can be read now."""
        ...

    def dangerous_now(self, guild_id: int, role_ids: set[int]) -> set[int]:
        """Which of the roles carry a permission no reward may give, as far as is known
        without asking Discord (a role not known is not dangerous)."""
        ...

    async def is_dangerous(self, guild_id: int, role_id: int) -> bool:
        """Whether the role carries a permission no reward may give, asking if need be."""
        ...

    async def member_roles(self, guild_id: int, user_id: int) -> set[int]:
        """The roles the member holds now; MemberGone if they left."""
        ...

    async def add(self, guild_id: int, user_id: int, role_id: int) -> None:
        """Give a role; RoleRefused or MemberGone when Discord says no."""
        ...

    async def remove(self, guild_id: int, user_id: int, role_id: int) -> None:
        """Take a role away; RoleRefused or MemberGone when Discord says no."""
        ...


class RoleSync:
    def __init__(self, roles: RoleService, batch: int) -> None:
        self.roles = roles
        self.batch = batch
        # The day each server's mappings were last audited by this process: so they are
        # audited at start-up and then once a day.
        self._audited: dict[int, date] = {}

    async def run(self, now: datetime, gateway: RoleGateway) -> None:
        """Audit the mappings when due, then apply a batch of due changes."""
        await self._audit(now, gateway)
        refused: set[int] = set()  # roles Discord refused during this run: not tried again
        for change in await self.roles.due_changes(now, self.batch):
            await self._apply(change, gateway, refused)

    async def _audit(self, now: datetime, gateway: RoleGateway) -> None:
        day = now.date()
        for guild_id, mappings in (await self.roles.mapped_guilds()).items():
            if self._audited.get(guild_id) == day or not gateway.ready(guild_id):
                continue  # done today, or not available yet: audited at a later tick
            for role_id in sorted(gateway.dangerous_now(guild_id, {m.role_id for m in mappings})):
                await self._suspend(guild_id, role_id)
            self._audited[guild_id] = day

    async def _apply(self, change: RoleChange, gateway: RoleGateway, refused: set[int]) -> None:
        if change.add and not gateway.ready(change.guild_id):
            return  # its roles can't be checked yet: the change waits for a later tick
        try:
            held = (
                await gateway.member_roles(change.guild_id, change.user_id) if change.add else set()
            )
            failed: set[int] = set()
            already_held = {r for r in change.add if r in held}
            for role_id in change.add:
                if role_id in refused:
                    failed.add(role_id)
                elif role_id in already_held:
                    continue  # given by someone else: recorded as held, never taken away
                elif await gateway.is_dangerous(change.guild_id, role_id):
                    failed.add(role_id)
                    await self._suspend(change.guild_id, role_id)
                elif not await self._call(gateway.add, change, role_id, refused):
                    failed.add(role_id)
            for role_id in change.remove:
                if role_id in refused:
                    continue
                if not await self._call(gateway.remove, change, role_id, refused):
                    failed.add(role_id)
        except MemberGone:
            await self.roles.forget_member(change.guild_id, change.user_id)
            return
        await self.roles.applied(change, failed, already_held)

    async def _call(
        self,
        call: Callable[[int, int, int], Awaitable[None]],
        change: RoleChange,
        role_id: int,
        refused: set[int],
    ) -> bool:
        """Give or take one role; False when Discord refused it (MemberGone propagates)."""
        try:
            await call(change.guild_id, change.user_id, role_id)
        except RoleRefused:
            refused.add(role_id)
            if await self.roles.refused(change.guild_id, role_id):
                log.warning("Server %s refused role %s to the roadmap", change.guild_id, role_id)
            return False
        return True

    async def _suspend(self, guild_id: int, role_id: int) -> None:
        """Stop using a role that became dangerous (the moderators are told once)."""
        if await self.roles.suspend(guild_id, role_id):
            log.warning("Server %s: reward role %s became dangerous; suspended", guild_id, role_id)
