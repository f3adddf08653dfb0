"""A member's roadmap data, exported or erased across servers, and a server's on leaving."""

from __future__ import annotations

from typing import Any

from bot.db import Database, Transaction
from bot.services.roadmap.members import remove_member

MEMBER_TABLES = {
    "checkins": "SELECT * FROM roadmap_checkins WHERE user_id = ? ORDER BY guild_id, id",
    "milestones": "SELECT * FROM roadmap_milestones WHERE user_id = ? ORDER BY guild_id, done_at",
    "pauses": "SELECT * FROM roadmap_pauses WHERE user_id = ? ORDER BY guild_id, start_date",
    "phase_entries": "SELECT * FROM roadmap_phase_entries WHERE user_id = ? ORDER BY guild_id",
    "period_stats": (
        "SELECT * FROM roadmap_period_stats WHERE user_id = ? ORDER BY guild_id, period"
    ),
    "buddy_requests": (
        "SELECT * FROM roadmap_buddy_requests WHERE from_user = ? OR to_user = ? ORDER BY guild_id"
    ),
    "roadmaps_imported": (
        "SELECT guild_id, mode, filename, imported_at FROM roadmap_custom"
        " WHERE imported_by = ? ORDER BY guild_id"
    ),
    "buddy_of": (
        "SELECT guild_id, user_id AS buddy FROM roadmap_members WHERE buddy_id = ?"
        " ORDER BY guild_id"
    ),
}
GUILD_TABLES = (
    "roadmap_period_stats",
    "roadmap_checkins",
    "roadmap_milestones",
    "roadmap_pauses",
    "roadmap_phase_entries",
    "roadmap_buddy_requests",
    "roadmap_members",
    "roadmap_roles",
    "roadmap_custom",
    "roadmap_content_state",
)


async def export_member(db: Database, user_id: int) -> dict[str, Any]:
    memberships = await db.fetch_all(
        "SELECT * FROM roadmap_members WHERE user_id = ? ORDER BY guild_id", (user_id,)
    )
    data: dict[str, Any] = {"memberships": [dict(r) for r in memberships]}
    for name, sql in MEMBER_TABLES.items():
        params = (user_id, user_id) if sql.count("?") == 2 else (user_id,)
        data[name] = [dict(r) for r in await db.fetch_all(sql, params)]
    return data


async def delete_member(tx: Transaction, user_id: int) -> int:
    """Erase the member everywhere; buddies lose the pairing, servers keep nothing of theirs."""
    rows = await tx.fetch_all("SELECT guild_id FROM roadmap_members WHERE user_id = ?", (user_id,))
    removed = 0
    for row in rows:
        removed += await remove_member(tx, row[0], user_id)
    removed += await tx.execute(
        "DELETE FROM roadmap_buddy_requests WHERE from_user = ? OR to_user = ?", (user_id, user_id)
    )
    await tx.execute(
        "UPDATE roadmap_members SET buddy_id = NULL, nudge_due_at = NULL WHERE buddy_id = ?",
        (user_id,),
    )
    # A roadmap they imported belongs to the server; who imported it is forgotten.
    await tx.execute("UPDATE roadmap_custom SET imported_by = 0 WHERE imported_by = ?", (user_id,))
    return removed


async def delete_guild(tx: Transaction, guild_id: int) -> int:
    # Table names come from the constant above, never from input.
    removed = 0
    for table in GUILD_TABLES:
        removed += await tx.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
    return removed
