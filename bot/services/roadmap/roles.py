"""Phase and streak roles: the mapping moderators set, and which members need a change.

Writes mark a member `roles_dirty` when the roles they should hold changed; the scheduler
job asks `due_changes` for a batch, applies them on Discord and reports back with
`applied`. Once a day every member of a server with a mapping is checked again, so a streak
that broke silently loses its role. A role Discord refuses is marked broken and reported
once; it is skipped until a moderator maps a role again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.clock import Clock, from_db_time, to_db_time
from bot.db import Database, Row
from bot.errors import DomainError
from bot.services.roadmap.member_state import (
    STREAK_THRESHOLDS,
    RoleMap,
    RoleMaps,
    load_role_map,
)
from bot.services.scheduled_posts import ScheduledPosts

RESYNC_KIND = "roadmap:roles"
SCAN_CHUNK = 500
SCAN_COLUMNS = (
    "guild_id, user_id, phase, current_streak, alive_until, phase_role_id, streak_role_id"
)


class RoleKind(StrEnum):
    PHASE = "phase"
    STREAK = "streak"


@dataclass(frozen=True)
class RoleMapping:
    kind: RoleKind
    level: int
    role_id: int
    broken: bool


@dataclass(frozen=True)
class RoleChange:
    guild_id: int
    user_id: int
    phase_role: int | None  # what the member should hold
    streak_role: int | None
    add: tuple[int, ...]
    remove: tuple[int, ...]


def _effective_streak(row: Row, now: datetime) -> int:
    alive = row["alive_until"]
    if alive is not None and from_db_time(alive) <= now:
        return 0
    return row["current_streak"]


def _change(row: Row, roles: RoleMap, now: datetime) -> RoleChange:
    phase_role, streak_role = roles.desired(row["phase"], _effective_streak(row, now))
    held = {r for r in (row["phase_role_id"], row["streak_role_id"]) if r is not None}
    wanted = {r for r in (phase_role, streak_role) if r is not None}
    return RoleChange(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        phase_role=phase_role,
        streak_role=streak_role,
        add=tuple(sorted(wanted - held)),
        remove=tuple(sorted(held - wanted)),
    )


class RoleService:
    def __init__(
        self, db: Database, clock: Clock, posts: ScheduledPosts, role_maps: RoleMaps
    ) -> None:
        self.db = db
        self.clock = clock
        self.posts = posts
        self.role_maps = role_maps

    async def mappings(self, guild_id: int) -> list[RoleMapping]:
        rows = await self.db.fetch_all(
            "SELECT kind, level, role_id, broken_at FROM roadmap_roles WHERE guild_id = ? "
            "ORDER BY kind, level",
            (guild_id,),
        )
        return [
            RoleMapping(RoleKind(r["kind"]), r["level"], r["role_id"], r["broken_at"] is not None)
            for r in rows
        ]

    async def set_mapping(
        self, guild_id: int, kind: RoleKind | str, level: int, role_id: int | None
    ) -> list[RoleMapping]:
        """Map (or unmap, with None) a phase number or streak threshold to a role."""
        kind = RoleKind(kind)
        if kind is RoleKind.STREAK and level not in STREAK_THRESHOLDS:
            shown = ", ".join(map(str, STREAK_THRESHOLDS))
            raise DomainError(f"Streak roles are for {shown} days.")
        if kind is RoleKind.PHASE and not 1 <= level <= 12:
            raise DomainError("Phase roles are for phase numbers 1 to 12.")

        async with self.db.transaction() as tx:
            if role_id is None:
                await tx.execute(
                    "DELETE FROM roadmap_roles WHERE guild_id = ? AND kind = ? AND level = ?",
                    (guild_id, kind.value, level),
                )
            else:
                await tx.execute(
                    "INSERT INTO roadmap_roles (guild_id, kind, level, role_id) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, kind, level) DO UPDATE SET "
                    "role_id = excluded.role_id, broken_at = NULL",
                    (guild_id, kind.value, level, role_id),
                )
                # Mapping a role again is how a moderator says "try this role again".
                await tx.execute(
                    "UPDATE roadmap_roles SET broken_at = NULL WHERE guild_id = ? AND role_id = ?",
                    (guild_id, role_id),
                )
            await tx.execute(
                "UPDATE roadmap_members SET roles_dirty = 1 WHERE guild_id = ?", (guild_id,)
            )
        self.role_maps.forget(guild_id)
        return await self.mappings(guild_id)

    async def due_changes(self, now: datetime, limit: int) -> list[RoleChange]:
        """A batch of members whose roles must change; starts the daily re-sync when due."""
        await self._start_daily_resync(now)
        await self.db.execute(
            "UPDATE roadmap_members SET roles_dirty = 1 WHERE streak_role_id IS NOT NULL "
            "AND alive_until <= ? AND roles_dirty = 0",
            (now,),
        )
        maps: dict[int, RoleMap] = {}
        changes: list[RoleChange] = []
        after = (0, 0)
        while len(changes) < limit:
            rows = await self.db.fetch_all(
                f"SELECT {SCAN_COLUMNS} FROM roadmap_members WHERE roles_dirty = 1 "
                "AND (guild_id, user_id) > (?, ?) ORDER BY guild_id, user_id LIMIT ?",
                (*after, SCAN_CHUNK),
            )
            if not rows:
                break
            settled = []
            for row in rows:
                after = (row["guild_id"], row["user_id"])
                guild_id = row["guild_id"]
                if guild_id not in maps:
                    maps[guild_id] = await load_role_map(self.db, guild_id)
                change = _change(row, maps[guild_id], now)
                if change.add or change.remove:
                    changes.append(change)
                    if len(changes) == limit:
                        break
                else:
                    settled.append(tuple(row))
            if settled:
                # Only if nothing that decides the roles changed since the read.
                await self.db.executemany(
                    "UPDATE roadmap_members SET roles_dirty = 0 WHERE guild_id = ? "
                    "AND user_id = ? AND phase = ? AND current_streak = ? "
                    "AND alive_until IS NOT DISTINCT FROM ? "
                    "AND phase_role_id IS NOT DISTINCT FROM ? "
                    "AND streak_role_id IS NOT DISTINCT FROM ?",
                    settled,
                )
        return changes

    async def _start_daily_resync(self, now: datetime) -> None:
        guilds = await self.db.fetch_all("SELECT DISTINCT guild_id FROM roadmap_roles")
        day = now.date().isoformat()
        for row in guilds:
            guild_id = row["guild_id"]
            if not await self.posts.is_open(guild_id, RESYNC_KIND, day):
                continue  # done today: a read, not a write, on every other tick
            if not await self.posts.claim(guild_id, RESYNC_KIND, day):
                continue
            await self.db.execute(
                "UPDATE roadmap_members SET roles_dirty = 1 WHERE guild_id = ?", (guild_id,)
            )
            await self.posts.mark_sent(guild_id, RESYNC_KIND, day)

    async def applied(
        self, guild_id: int, user_id: int, phase_role: int | None, streak_role: int | None
    ) -> None:
        """Record the roles the member now holds from the bot; the change is done."""
        await self.db.execute(
            "UPDATE roadmap_members SET phase_role_id = ?, streak_role_id = ?, roles_dirty = 0 "
            "WHERE guild_id = ? AND user_id = ?",
            (phase_role, streak_role, guild_id, user_id),
        )

    async def refused(self, guild_id: int, role_id: int) -> bool:
        """Discord refused to give or take `role_id`: stop using it. True the first time."""
        changed = await self.db.execute(
            "UPDATE roadmap_roles SET broken_at = ? WHERE guild_id = ? AND role_id = ? "
            "AND broken_at IS NULL",
            (to_db_time(self.clock.now()), guild_id, role_id),
        )
        self.role_maps.forget(guild_id)
        return changed > 0
