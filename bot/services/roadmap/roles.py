"""Phase and streak roles: the mapping moderators set, and which members need a change.

Writes mark a member `roles_dirty` when the roles they should hold changed; the scheduler
job asks `due_changes` for a batch, applies them on Discord and reports back with
`applied`, which clears the mark only if nothing changed meanwhile (a check-in during the
Discord calls keeps its update). Once a day every member of a server with a mapping is
checked again, so a streak that broke silently loses its role.

Who may map which role is Discord's business (the cog checks it); this service keeps the
rules of the data: a role Discord refuses is marked broken and reported once; a role that
became dangerous is suspended (frozen: neither given nor taken away) and reported once;
and a role the member already held when the bot would have given it is recorded as held,
not granted, so the bot never takes it away.
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
from bot.shards import EVERY_SHARD, ShardScope

RESYNC_KIND = "roadmap:roles"
NOTICE_KIND = "notice:role"  # telling the moderators a mapped role was stopped or suspended
SCAN_CHUNK = 500
SCAN_COLUMNS = (
    "guild_id, user_id, phase, current_streak, alive_until, phase_role_id, streak_role_id, "
    "roles_granted"
)
PHASE_GRANTED, STREAK_GRANTED = 1, 2


class RoleKind(StrEnum):
    PHASE = "phase"
    STREAK = "streak"


@dataclass(frozen=True)
class RoleMapping:
    kind: RoleKind
    level: int
    role_id: int
    broken: bool
    suspended: bool = False


@dataclass(frozen=True)
class RoleChange:
    guild_id: int
    user_id: int
    phase_role: int | None  # what the member should hold from now on
    streak_role: int | None
    add: tuple[int, ...]
    remove: tuple[int, ...]  # only roles the bot granted itself
    held: tuple[int | None, int | None]  # what was recorded when the change was read
    granted: int  # PHASE_GRANTED | STREAK_GRANTED bits of `held`


@dataclass(frozen=True)
class RoleNotice:
    """The moderators are to be told that the bot stopped using a mapped role: Discord
    refused it (`why` = "refused") or it became dangerous ("suspended"), at `since`."""

    guild_id: int
    role_id: int
    why: str
    since: datetime

    @property
    def period(self) -> str:
        """The notice's post key: a role stopped again later is told again."""
        return f"{self.why}:{self.role_id}:{to_db_time(self.since)}"


def _effective_streak(row: Row, now: datetime) -> int:
    alive = row["alive_until"]
    if alive is not None and from_db_time(alive) <= now:
        return 0
    return row["current_streak"]


def _change(row: Row, roles: RoleMap, now: datetime) -> RoleChange | None:
    """What to do for one member, or None when nothing changes."""
    held = (row["phase_role_id"], row["streak_role_id"])
    granted = row["roles_granted"]
    wanted = roles.desired(row["phase"], _effective_streak(row, now))
    # A frozen role nobody should get any more stays where it is, recorded as it was.
    final = tuple(
        have if want is None and have in roles.frozen else want
        for want, have in zip(wanted, held, strict=True)
    )
    if final == held:
        return None
    ours = {
        role
        for role, bit in zip(held, (PHASE_GRANTED, STREAK_GRANTED), strict=True)
        if role is not None and granted & bit
    }
    keep = {r for r in final if r is not None}
    return RoleChange(
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        phase_role=final[0],
        streak_role=final[1],
        add=tuple(sorted(keep - set(held))),
        remove=tuple(sorted((ours - keep) - roles.frozen)),
        held=held,
        granted=granted,
    )


def granted_bits(change: RoleChange, failed: set[int], already_held: set[int]) -> int:
    """Which of the recorded roles the bot granted, after applying `change`."""
    bits = 0
    final = (change.phase_role, change.streak_role)
    for role, old, bit in zip(final, change.held, (PHASE_GRANTED, STREAK_GRANTED), strict=True):
        if role is None or role in failed:
            continue
        if role == old:
            bits |= change.granted & bit
        elif role not in already_held:
            bits |= bit
    return bits


class RoleService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        posts: ScheduledPosts,
        role_maps: RoleMaps,
        *,
        shards: ShardScope = EVERY_SHARD,
    ) -> None:
        self.db = db
        self.clock = clock
        # The scheduled role work (re-sync, audits, notices) is of this process's servers.
        self.shards = shards
        self.posts = posts
        self.role_maps = role_maps

    async def mappings(self, guild_id: int) -> list[RoleMapping]:
        rows = await self.db.fetch_all(
            "SELECT kind, level, role_id, broken_at, suspended_at FROM roadmap_roles"
            " WHERE guild_id = ? ORDER BY kind, level",
            (guild_id,),
        )
        return [_mapping(r) for r in rows]

    async def mapped_guilds(self) -> dict[int, list[RoleMapping]]:
        """The mappings in use (neither broken nor suspended) of this process's servers."""
        rows = await self.db.fetch_all(
            "SELECT guild_id, kind, level, role_id, broken_at, suspended_at FROM roadmap_roles"
            f" WHERE broken_at IS NULL AND suspended_at IS NULL AND {self.shards.sql('guild_id')}"
            " ORDER BY guild_id, kind, level"
        )
        found: dict[int, list[RoleMapping]] = {}
        for row in rows:
            found.setdefault(row["guild_id"], []).append(_mapping(row))
        return found

    async def mapping(self, guild_id: int, kind: RoleKind | str, level: int) -> int | None:
        """The role now mapped to this phase or streak, if any."""
        return await self.db.fetch_value(
            "SELECT role_id FROM roadmap_roles WHERE guild_id = ? AND kind = ? AND level = ?",
            (guild_id, RoleKind(kind).value, level),
        )

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
                    "role_id = excluded.role_id, broken_at = NULL, suspended_at = NULL",
                    (guild_id, kind.value, level, role_id),
                )
                # Mapping a role again (checked safe by the cog) is how a moderator says
                # "try this role again".
                await tx.execute(
                    "UPDATE roadmap_roles SET broken_at = NULL, suspended_at = NULL"
                    " WHERE guild_id = ? AND role_id = ?",
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
            f"AND alive_until <= ? AND roles_dirty = 0 AND {self.shards.sql('guild_id')}",
            (now,),
        )
        maps: dict[int, RoleMap] = {}
        changes: list[RoleChange] = []
        after = (0, 0)
        while len(changes) < limit:
            rows = await self.db.fetch_all(
                f"SELECT {SCAN_COLUMNS} FROM roadmap_members WHERE roles_dirty = 1 "
                f"AND (guild_id, user_id) > (?, ?) AND {self.shards.sql('guild_id')} "
                "ORDER BY guild_id, user_id LIMIT ?",
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
                if change is not None:
                    changes.append(change)
                    if len(changes) == limit:
                        break
                else:
                    settled.append(tuple(row)[:-1])
            if settled:
                # Read outside a transaction, so cleared only if nothing that decides the
                # roles changed since (a check-in, a new role recorded).
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
        guilds = await self.db.fetch_all(
            f"SELECT DISTINCT guild_id FROM roadmap_roles WHERE {self.shards.sql('guild_id')}"
        )
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
        self, change: RoleChange, failed: set[int], already_held: set[int] = frozenset()
    ) -> None:
        """Record the roles the member now holds after `change`.

        `failed` roles could not be given (they are not recorded); `already_held` ones the
        member had before, so they are recorded as held, not granted. The member stays
        marked for another pass unless what they hold is what they should hold now
        (compare-and-set: a check-in or a new mapping during the Discord calls counts).
        """
        phase_role = None if change.phase_role in failed else change.phase_role
        streak_role = None if change.streak_role in failed else change.streak_role
        bits = granted_bits(change, failed, already_held)
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await conn.lock("roadmap-member", change.guild_id, change.user_id)
            row = await conn.fetch_one(
                "UPDATE roadmap_members SET phase_role_id = ?, streak_role_id = ?,"
                " roles_granted = ? WHERE guild_id = ? AND user_id = ?"
                " RETURNING phase, current_streak, alive_until",
                (phase_role, streak_role, bits, change.guild_id, change.user_id),
            )
            if row is None:
                return
            roles = await load_role_map(conn, change.guild_id)
            settled = roles.settled(
                row["phase"], _effective_streak(row, now), (phase_role, streak_role)
            )
            await conn.execute(
                "UPDATE roadmap_members SET roles_dirty = ? WHERE guild_id = ? AND user_id = ?",
                (int(not settled), change.guild_id, change.user_id),
            )

    async def forget_member(self, guild_id: int, user_id: int) -> None:
        """The member left the server: they hold nothing from us any more."""
        await self.db.execute(
            "UPDATE roadmap_members SET phase_role_id = NULL, streak_role_id = NULL,"
            " roles_granted = 0, roles_dirty = 0 WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )

    async def suspend(self, guild_id: int, role_id: int) -> bool:
        """`role_id` became dangerous: freeze every mapping to it. True the first time."""
        changed = await self.db.execute(
            "UPDATE roadmap_roles SET suspended_at = ? WHERE guild_id = ? AND role_id = ?"
            " AND suspended_at IS NULL",
            (to_db_time(self.clock.now()), guild_id, role_id),
        )
        self.role_maps.forget(guild_id)
        return changed > 0

    async def notices_due(self) -> list[RoleNotice]:
        """Roles stopped or suspended whose notice to the moderators is not done yet (it is
        sent through the delivery helper, so a failure is tried again)."""
        rows = await self.db.fetch_all(
            "SELECT DISTINCT guild_id, role_id, 'refused' AS why, broken_at AS since"
            f" FROM roadmap_roles WHERE broken_at IS NOT NULL AND {self.shards.sql('guild_id')}"
            " UNION SELECT DISTINCT guild_id, role_id, 'suspended' AS why, suspended_at AS since"
            f" FROM roadmap_roles WHERE suspended_at IS NOT NULL AND {self.shards.sql('guild_id')}"
        )
        due = []
        for row in rows:
            notice = RoleNotice(
                row["guild_id"], row["role_id"], row["why"], from_db_time(row["since"])
            )
            if await self.posts.is_open(notice.guild_id, NOTICE_KIND, notice.period):
                due.append(notice)
        return due

    async def refused(self, guild_id: int, role_id: int) -> bool:
        """Discord refused to give or take `role_id`: stop using it. True the first time."""
        changed = await self.db.execute(
            "UPDATE roadmap_roles SET broken_at = ? WHERE guild_id = ? AND role_id = ? "
            "AND broken_at IS NULL",
            (to_db_time(self.clock.now()), guild_id, role_id),
        )
        self.role_maps.forget(guild_id)
        return changed > 0


def _mapping(row: Row) -> RoleMapping:
    return RoleMapping(
        RoleKind(row["kind"]),
        row["level"],
        row["role_id"],
        broken=row["broken_at"] is not None,
        suspended=row["suspended_at"] is not None,
    )
