"""Ticking milestones off (and undoing it), with the phase a member is in as the result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.db import Transaction
from bot.errors import DomainError, NotFound
from bot.services.roadmap.content import Milestone, Roadmap
from bot.services.roadmap.counters import bump_periods
from bot.services.roadmap.member_state import MemberRecord, Queryable
from bot.services.roadmap.plan import current_phase, phase_progress


@dataclass(frozen=True)
class MilestoneChange:
    milestone: Milestone
    done: bool  # the state after the change
    changed: bool  # False when it was already in that state
    phase_before: int
    phase_after: int
    delta: int  # +1, -1 or 0 to the member's milestones_done


def resolve_milestone(roadmap: Roadmap, track: str, text: str) -> Milestone:
    """A milestone of the member's track by key (what autocomplete sends) or exact title."""
    wanted = text.strip()
    milestone = roadmap.milestone(wanted)
    if milestone is None:
        lowered = wanted.lower()
        milestone = next(
            (m for m in roadmap.milestones_for(track) if m.title.lower() == lowered), None
        )
    if milestone is None:
        raise NotFound(
            f"There is no milestone '{wanted[:60]}' on this server's roadmap: "
            "pick one from the list as you type."
        )
    if track not in milestone.tracks:
        owners = ", ".join(
            t.name for t in (roadmap.track(k) for k in milestone.tracks) if t is not None
        )
        mine = roadmap.track(track)
        raise DomainError(
            f"'{milestone.title}' belongs to the {owners} track, not yours "
            f"({mine.name if mine else track})."
        )
    return milestone


async def done_keys(q: Queryable, guild_id: int, user_id: int) -> set[str]:
    """The member's ticked milestones that their roadmap still offers (not archived)."""
    rows = await q.fetch_all(
        "SELECT milestone FROM roadmap_milestones WHERE guild_id = ? AND user_id = ? "
        "AND archived_at IS NULL",
        (guild_id, user_id),
    )
    return {row[0] for row in rows}


async def change_milestone(
    tx: Transaction,
    member: MemberRecord,
    roadmap: Roadmap,
    milestone: Milestone,
    done: bool,
    now: datetime,
) -> MilestoneChange:
    """Record or undo one milestone, its period counters and phase entries.

    The member row's `milestones_done` and `phase` are left to the caller, which writes the
    row once with everything else that changed.
    """
    key = (member.guild_id, member.user_id)
    existing = await tx.fetch_one(
        "SELECT done_on FROM roadmap_milestones WHERE guild_id = ? AND user_id = ? "
        "AND milestone = ?",
        (*key, milestone.key),
    )
    if (existing is not None) == done:
        return MilestoneChange(milestone, done, False, member.phase, member.phase, 0)
    today = member.today(now)
    if done:
        await tx.execute(
            "INSERT INTO roadmap_milestones (guild_id, user_id, milestone, done_at, done_on, "
            "title) VALUES (?, ?, ?, ?, ?, ?)",
            (*key, milestone.key, now, today, milestone.title),
        )
        await bump_periods(tx, *key, today, milestones=1)
    else:
        await tx.execute(
            "DELETE FROM roadmap_milestones WHERE guild_id = ? AND user_id = ? AND milestone = ?",
            (*key, milestone.key),
        )
        await bump_periods(tx, *key, date.fromisoformat(existing[0]), milestones=-1)
    progress = phase_progress(roadmap, member.track, await done_keys(tx, *key))
    phase = current_phase(progress, member.phase_floor)
    await record_phase_entries(tx, member, member.phase, phase, today)
    return MilestoneChange(milestone, done, True, member.phase, phase, 1 if done else -1)


async def record_phase_entries(
    tx: Transaction, member: MemberRecord, before: int, after: int, today: date
) -> None:
    """Note each phase entered (for the digest); forget entries an undo walked back."""
    key = (member.guild_id, member.user_id)
    if after > before:
        await tx.executemany(
            "INSERT INTO roadmap_phase_entries (guild_id, user_id, phase, entered_on) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(*key, phase, today) for phase in range(before + 1, after + 1)],
        )
    elif after < before:
        await tx.execute(
            "DELETE FROM roadmap_phase_entries WHERE guild_id = ? AND user_id = ? AND phase > ?",
            (*key, after),
        )
