"""Members' progress against a changed roadmap: milestones matched by key, dropped ones archived.

A content update (a new built-in roadmap at start-up, or a server's import) never deletes a
ticked milestone. A milestone the roadmap still offers to the member's track stays done,
whatever its new title or description; one it no longer offers is archived: kept, with the
title it had, in the member's history and totals, but no longer offered and no longer
counted towards a phase. A milestone that comes back is restored. Phases are then derived
again from what is live, and may move forward, never back: a member whose earlier phases
gained milestones keeps the phase they reached, as their floor (`phase_floor`), which
every later derivation respects; the new milestones are open work behind them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_db_time
from bot.db import Transaction
from bot.services.roadmap.content import Roadmap

ALL_USERS = (0, 2**63 - 1)  # every Discord user id


@dataclass(frozen=True)
class Reconciled:
    archived: int = 0  # milestone rows archived by this update
    restored: int = 0  # archived rows the roadmap offers again
    moved: int = 0  # members whose current phase changed

    def __add__(self, other: Reconciled) -> Reconciled:
        return Reconciled(
            self.archived + other.archived,
            self.restored + other.restored,
            self.moved + other.moved,
        )


async def reconcile_guild(
    conn: Transaction, guild_id: int, roadmap: Roadmap, now: datetime
) -> Reconciled:
    """Bring all of one server's members in line with `roadmap`, and record that."""
    done = await reconcile_members(conn, guild_id, roadmap, now)
    await record_reconciled(conn, guild_id, roadmap, now)
    return done


async def reconcile_members(
    conn: Transaction,
    guild_id: int,
    roadmap: Roadmap,
    now: datetime,
    users: tuple[int, int] = ALL_USERS,
) -> Reconciled:
    """Archive, restore and move the server's members whose ids lie in `users` (inclusive).

    An archived milestone keeps the title the previous roadmap gave it, else the one it had
    when ticked, else its title in the roadmap's `retired` list.
    """
    state = await conn.fetch_one(
        "SELECT titles FROM roadmap_content_state WHERE guild_id = ?", (guild_id,)
    )
    previous: dict[str, str] = json.loads(state[0]) if state is not None else {}
    rows = await conn.fetch_all(
        "SELECT m.user_id, m.milestone, m.title, m.archived_at, r.track "
        "FROM roadmap_milestones m JOIN roadmap_members r "
        "ON r.guild_id = m.guild_id AND r.user_id = m.user_id "
        "WHERE m.guild_id = ? AND m.user_id BETWEEN ? AND ?",
        (guild_id, *users),
    )
    archive, restore = [], []
    live: dict[int, set[str]] = {}  # each member's ticked milestones the roadmap offers
    for user_id, key, title, archived_at, track in rows:
        if roadmap.offers(track, key):
            live.setdefault(user_id, set()).add(key)
            if archived_at is not None:
                restore.append((guild_id, user_id, key))
        elif archived_at is None:
            kept = previous.get(key) or title or roadmap.retired_title(key) or key
            archive.append((kept, to_db_time(now), guild_id, user_id, key))
    where = "WHERE guild_id = ? AND user_id = ? AND milestone = ?"
    await conn.executemany(
        f"UPDATE roadmap_milestones SET title = ?, archived_at = ? {where}", archive
    )
    await conn.executemany(f"UPDATE roadmap_milestones SET archived_at = NULL {where}", restore)
    moved = await move_phases(conn, guild_id, roadmap, live, users)
    return Reconciled(len(archive), len(restore), moved)


async def record_reconciled(
    conn: Transaction, guild_id: int, roadmap: Roadmap, now: datetime
) -> None:
    """Note that the server's members now match `roadmap` (and keep its titles)."""
    titles = json.dumps({m.key: m.title for m in roadmap.milestones}, ensure_ascii=False)
    await conn.execute(
        "INSERT INTO roadmap_content_state (guild_id, fingerprint, titles, synced_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
        "fingerprint = excluded.fingerprint, titles = excluded.titles, "
        "synced_at = excluded.synced_at",
        (guild_id, roadmap.fingerprint(), titles, to_db_time(now)),
    )


@dataclass(frozen=True)
class TrackPlan:
    """A track's milestones by phase, to find many members' current phase quickly."""

    phase_of: dict[str, int]
    totals: tuple[int, ...]  # milestones in each phase, in order

    @classmethod
    def of(cls, roadmap: Roadmap, track: str) -> TrackPlan:
        milestones = roadmap.milestones_for(track)
        totals = tuple(sum(m.phase == p.number for m in milestones) for p in roadmap.phases)
        return cls({m.key: m.phase for m in milestones}, totals)

    def current_phase(self, done: set[str], floor: int = 1) -> int:
        """The first phase with an open milestone; one past the last when all are done;
        never below `floor` (the rule of `plan.current_phase`)."""
        counts = [0] * len(self.totals)
        for key in done:
            phase = self.phase_of.get(key)
            if phase is not None:
                counts[phase - 1] += 1
        derived = next(
            (n for n, (c, t) in enumerate(zip(counts, self.totals, strict=True), 1) if c < t),
            len(self.totals) + 1,
        )
        return max(derived, min(floor, len(self.totals) + 1))


async def move_phases(
    conn: Transaction,
    guild_id: int,
    roadmap: Roadmap,
    live: dict[int, set[str]],
    users: tuple[int, int],
) -> int:
    """Derive members' current phase again from their live milestones; count the moves.

    A member never moves back: the phase they were in becomes their floor."""
    # A member with nothing ticked and still in phase 1 stays there: skip them in SQL.
    rows = await conn.fetch_all(
        "SELECT user_id, track, phase, phase_floor FROM roadmap_members "
        "WHERE guild_id = ? AND user_id BETWEEN ? AND ? AND (phase <> 1 OR user_id IN "
        "(SELECT user_id FROM roadmap_milestones WHERE guild_id = ? AND user_id BETWEEN ? AND ?))",
        (guild_id, *users, guild_id, *users),
    )
    plans: dict[str, TrackPlan] = {}
    moves = []
    floors = []
    for user_id, track, phase, floor in rows:
        plan = plans.get(track) or plans.setdefault(track, TrackPlan.of(roadmap, track))
        done = live.get(user_id, set())
        if plan.current_phase(done, floor) < phase:
            floor = phase
            floors.append((floor, guild_id, user_id))
        new_phase = plan.current_phase(done, floor)
        if new_phase != phase:
            moves.append((new_phase, guild_id, user_id))
    await conn.executemany(
        "UPDATE roadmap_members SET phase_floor = ? WHERE guild_id = ? AND user_id = ?",
        floors,
    )
    await conn.executemany(
        "UPDATE roadmap_members SET phase = ?, roles_dirty = 1 WHERE guild_id = ? AND user_id = ?",
        moves,
    )
    return len(moves)
