"""Members' progress against a changed roadmap: milestones matched by key, dropped ones archived.

A content update (a new built-in roadmap at start-up, or a server's import) never deletes a
ticked milestone. A milestone the roadmap still offers to the member's track stays done,
whatever its new title or description; one it no longer offers is archived: kept, with the
title it had, in the member's history and totals, but no longer offered and no longer
counted towards a phase. A milestone that comes back is restored. Phases are then derived
again from what is live.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_db_time
from bot.db import WriteSession
from bot.services.roadmap.content import Roadmap
from bot.services.roadmap.plan import current_phase, phase_progress


@dataclass(frozen=True)
class Reconciled:
    archived: int  # milestone rows archived by this update
    restored: int  # archived rows the roadmap offers again
    moved: int  # members whose current phase changed


async def reconcile_guild(
    conn: WriteSession, guild_id: int, roadmap: Roadmap, now: datetime
) -> Reconciled:
    """Bring one server's members in line with `roadmap`, and record that it was done."""
    cursor = await conn.execute(
        "SELECT m.user_id, m.milestone, m.title, m.archived_at, r.track "
        "FROM roadmap_milestones m JOIN roadmap_members r "
        "ON r.guild_id = m.guild_id AND r.user_id = m.user_id WHERE m.guild_id = ?",
        (guild_id,),
    )
    rows = await cursor.fetchall()
    archive, restore, retitle = [], [], []
    for user_id, key, title, archived_at, track in rows:
        milestone = roadmap.milestone(key)
        if milestone is not None and roadmap.offers(track, key):
            if archived_at is not None:
                restore.append((milestone.title, guild_id, user_id, key))
            elif title != milestone.title:
                retitle.append((milestone.title, guild_id, user_id, key))
        elif archived_at is None:
            other_track = milestone.title if milestone is not None else None
            kept = title or roadmap.retired_title(key) or other_track or key
            archive.append((kept, to_db_time(now), guild_id, user_id, key))
    where = "WHERE guild_id = ? AND user_id = ? AND milestone = ?"
    await conn.executemany(
        f"UPDATE roadmap_milestones SET title = ?, archived_at = ? {where}", archive
    )
    await conn.executemany(
        f"UPDATE roadmap_milestones SET title = ?, archived_at = NULL {where}", restore
    )
    await conn.executemany(f"UPDATE roadmap_milestones SET title = ? {where}", retitle)
    moved = await move_phases(conn, guild_id, roadmap)
    await conn.execute(
        "INSERT INTO roadmap_content_state (guild_id, fingerprint, synced_at) VALUES (?, ?, ?) "
        "ON CONFLICT (guild_id) DO UPDATE SET fingerprint = excluded.fingerprint, "
        "synced_at = excluded.synced_at",
        (guild_id, roadmap.fingerprint(), to_db_time(now)),
    )
    return Reconciled(len(archive), len(restore), moved)


async def move_phases(conn: WriteSession, guild_id: int, roadmap: Roadmap) -> int:
    """Derive every member's current phase again from their live milestones; count moves."""
    cursor = await conn.execute(
        "SELECT user_id, milestone FROM roadmap_milestones "
        "WHERE guild_id = ? AND archived_at IS NULL",
        (guild_id,),
    )
    done: dict[int, set[str]] = {}
    for user_id, key in await cursor.fetchall():
        done.setdefault(user_id, set()).add(key)
    # A member with nothing ticked and still in phase 1 stays there: skip them in SQL.
    cursor = await conn.execute(
        "SELECT user_id, track, phase FROM roadmap_members WHERE guild_id = ? AND (phase <> 1 "
        "OR user_id IN (SELECT user_id FROM roadmap_milestones WHERE guild_id = ?))",
        (guild_id, guild_id),
    )
    moves = []
    for user_id, track, phase in await cursor.fetchall():
        progress = phase_progress(roadmap, track, done.get(user_id, set()))
        new_phase = min(current_phase(progress), len(roadmap.phases) + 1)
        if new_phase != phase:
            moves.append((new_phase, guild_id, user_id))
    await conn.executemany(
        "UPDATE roadmap_members SET phase = ?, roles_dirty = 1 WHERE guild_id = ? AND user_id = ?",
        moves,
    )
    return len(moves)
