"""Accountability buddies: requests, pairs, and their status."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.clock import Clock, to_db_time
from bot.db import Database, Transaction
from bot.errors import DomainError, NotFound
from bot.services.roadmap.member_state import (
    NOT_ENROLLED,
    MemberRecord,
    effective_streak,
    load_member,
    load_pauses,
    lock_member,
    nudge_due,
    require_member,
)
from bot.services.scheduled_posts import BUDDY_PING_KIND


@dataclass(frozen=True)
class BuddyRequestResult:
    to_user: int
    paired: bool  # True when the other member had already asked: the pair is made
    expires_at: datetime
    ping: bool = True  # False: this pair had its one public ping today already


@dataclass(frozen=True)
class BuddyStatus:
    buddy_id: int | None
    buddy_streak: int
    buddy_last_day: date | None
    outgoing_to: int | None
    incoming_from: tuple[int, ...]


class BuddyService:
    def __init__(self, db: Database, clock: Clock, request_days: int) -> None:
        self.db = db
        self.clock = clock
        self.request_days = request_days

    def _cutoff(self, now: datetime) -> str:
        return to_db_time(now - timedelta(days=self.request_days))

    async def request(
        self, guild_id: int, from_user: int, to_user: int, to_is_bot: bool = False
    ) -> BuddyRequestResult:
        if to_user == from_user:
            raise DomainError("You can't be your own buddy: ask another member.")
        if to_is_bot:
            raise DomainError("Bots don't check in: ask a member to be your buddy.")
        now = self.clock.now()
        cutoff = self._cutoff(now)

        async with self.db.transaction() as tx:
            await lock_pair(tx, guild_id, from_user, to_user)
            asker = await require_member(tx, guild_id, from_user)
            other = await load_member(tx, guild_id, to_user)
            if other is None:
                raise DomainError(
                    "{} isn't on the roadmap yet; they can join with /roadmap start.",
                    members=(to_user,),
                )
            _ensure_free(asker, "You already have a buddy")
            _ensure_free(other, "That member already has a buddy")
            reverse = await tx.fetch_one(
                "SELECT 1 FROM roadmap_buddy_requests WHERE guild_id = ? AND from_user = ? "
                "AND to_user = ? AND created_at >= ?",
                (guild_id, to_user, from_user, cutoff),
            )
            expires = now + timedelta(days=self.request_days)
            if reverse is not None:
                await _pair(tx, asker, other, now)
                return BuddyRequestResult(to_user, True, expires)
            await tx.execute(
                "INSERT INTO roadmap_buddy_requests (guild_id, from_user, to_user, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, from_user) DO UPDATE SET "
                "to_user = excluded.to_user, created_at = excluded.created_at",
                (guild_id, from_user, to_user, now),
            )
            # One public ping per pair and UTC day, however often the request is repeated.
            pinged = await tx.execute(
                "INSERT INTO scheduled_posts (guild_id, kind, period, status, claimed_at, "
                "sent_at) VALUES (?, ?, ?, 'sent', ?, ?) "
                "ON CONFLICT (guild_id, kind, period) DO NOTHING",
                (
                    guild_id,
                    BUDDY_PING_KIND,
                    f"{from_user}:{to_user}:{now.date().isoformat()}",
                    now,
                    now,
                ),
            )
        return BuddyRequestResult(to_user, False, expires, ping=pinged == 1)

    async def accept(self, guild_id: int, user_id: int, from_user: int | None = None) -> int:
        """Accept a pending request (the only one, or the one from `from_user`)."""
        now = self.clock.now()
        cutoff = self._cutoff(now)

        async with self.db.transaction() as tx:
            await require_member(tx, guild_id, user_id)
            rows = await tx.fetch_all(
                "SELECT from_user FROM roadmap_buddy_requests WHERE guild_id = ? "
                "AND to_user = ? AND created_at >= ? ORDER BY created_at, from_user",
                (guild_id, user_id, cutoff),
            )
            pending = [r[0] for r in rows]
            if from_user is not None:
                if from_user not in pending:
                    raise NotFound("{} has no buddy request waiting for you.", members=(from_user,))
                chosen = from_user
            elif not pending:
                raise NotFound("No buddy request is waiting for you.")
            elif len(pending) > 1:
                asked = tuple(pending[:10])
                raise DomainError(
                    f"Several members asked you ({', '.join('{}' for _ in asked)}): choose "
                    "with /buddy accept member:.",
                    members=asked,
                )
            else:
                chosen = pending[0]
            await lock_pair(tx, guild_id, user_id, chosen)
            me = await require_member(tx, guild_id, user_id)
            _ensure_free(me, "You already have a buddy")
            other = await require_member(tx, guild_id, chosen)
            _ensure_free(other, "That member found another buddy meanwhile")
            await _pair(tx, me, other, now)
        return chosen

    async def end(self, guild_id: int, user_id: int) -> int:
        """End the pair; returns the former buddy's id."""

        async with self.db.transaction() as tx:
            me = await lock_member(tx, guild_id, user_id)
            if me.buddy_id is None:
                raise NotFound("You don't have a buddy right now: /buddy request @member asks one.")
            await tx.execute(
                "UPDATE roadmap_members SET buddy_id = NULL, nudge_due_at = NULL "
                "WHERE guild_id = ? AND user_id IN (?, ?)",
                (guild_id, user_id, me.buddy_id),
            )
        return me.buddy_id

    async def status(self, guild_id: int, user_id: int) -> BuddyStatus:
        now = self.clock.now()
        cutoff = self._cutoff(now)

        me = await load_member(self.db, guild_id, user_id)
        if me is None:
            raise NotFound(NOT_ENROLLED)
        streak, last_day = 0, None
        if me.buddy_id is not None:
            buddy = await load_member(self.db, guild_id, me.buddy_id)
            if buddy is not None:
                pauses = await load_pauses(self.db, guild_id, buddy.user_id)
                streak = effective_streak(buddy, pauses, now)
                last_day = buddy.streak.last_date
        outgoing = await self.db.fetch_value(
            "SELECT to_user FROM roadmap_buddy_requests WHERE guild_id = ? "
            "AND from_user = ? AND created_at >= ?",
            (guild_id, user_id, cutoff),
        )
        incoming = await self.db.fetch_all(
            "SELECT from_user FROM roadmap_buddy_requests WHERE guild_id = ? "
            "AND to_user = ? AND created_at >= ? ORDER BY created_at, from_user",
            (guild_id, user_id, cutoff),
        )
        return BuddyStatus(
            buddy_id=me.buddy_id,
            buddy_streak=streak,
            buddy_last_day=last_day,
            outgoing_to=outgoing,
            incoming_from=tuple(r[0] for r in incoming),
        )


def _ensure_free(member: MemberRecord, message: str) -> None:
    if member.buddy_id is not None:
        raise DomainError(f"{message} ({{}}): /buddy end first.", members=(member.buddy_id,))


async def lock_pair(tx: Transaction, guild_id: int, first: int, second: int) -> None:
    """Both members' locks, lower id first, so two crossing requests never deadlock."""
    for user_id in sorted({first, second}):
        await tx.lock("roadmap-member", guild_id, user_id)


async def _pair(tx: Transaction, a: MemberRecord, b: MemberRecord, now: datetime) -> None:
    """Make the pair; each side's first nudge can come two missed days from today at the soonest."""
    for me, other in ((a, b), (b, a)):
        paired = replace(me, buddy_id=other.user_id)
        pauses = await load_pauses(tx, me.guild_id, me.user_id)
        yesterday = me.today(now) - timedelta(days=1)
        await tx.execute(
            "UPDATE roadmap_members SET buddy_id = ?, nudge_due_at = ? "
            "WHERE guild_id = ? AND user_id = ?",
            (
                other.user_id,
                nudge_due(paired, paired.streak, pauses, not_before=yesterday),
                me.guild_id,
                me.user_id,
            ),
        )
    await tx.execute(
        "DELETE FROM roadmap_buddy_requests WHERE guild_id = ? AND (from_user IN (?, ?) "
        "OR to_user IN (?, ?))",
        (a.guild_id, a.user_id, b.user_id, a.user_id, b.user_id),
    )
