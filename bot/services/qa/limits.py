"""The rate limit and the daily token budgets, which a server's moderators may lower.

The operator pays for the tokens, so QA_MEMBER_DAILY_TOKENS and QA_GUILD_DAILY_TOKENS are
ceilings: a server may choose a lower budget, never a higher one, and never "no limit"
unless the operator set none. The checks run inside the transaction that records a
question, so two questions sent at once cannot both slip under a limit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clock import Clock, from_db_time, to_db_time
from bot.config import Settings
from bot.db import Database, Transaction
from bot.errors import DomainError, RateLimited
from bot.services.qa.models import Budget, Limits
from bot.services.qa.usage_keys import member_keys

MAX_BUDGET = 100_000_000


def day_start(when: datetime) -> datetime:
    """Midnight UTC of `when`'s day: budgets are per UTC day."""
    return when.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def in_force(ceiling: int, chosen: int | None) -> Budget:
    """The budget that applies: the server's choice, capped by the operator's ceiling."""
    if chosen is None or chosen == 0:
        value = ceiling if chosen is None or ceiling else 0
    else:
        value = min(chosen, ceiling) if ceiling else chosen
    return Budget(in_force=value, ceiling=ceiling, chosen=chosen)


def check_choice(value: int, ceiling: int, what: str) -> None:
    """Refuse a budget above the operator's ceiling (or "no limit" under one)."""
    if not 0 <= value <= MAX_BUDGET:
        raise DomainError(f"Budgets are a number of tokens from 1 to {MAX_BUDGET:,}.")
    if ceiling and (value == 0 or value > ceiling):
        asked = "no limit" if value == 0 else f"{value:,} tokens"
        raise DomainError(
            f"The {what} budget can't be {asked}: the bot's operator allows at most "
            f"{ceiling:,} tokens a day, and a server can only lower that. Nothing was changed."
        )


def format_wait(seconds: float) -> str:
    """'in 3 min', 'in 2 h 5 min': how long until a member may ask again."""
    minutes = max(1, int(seconds + 59) // 60)
    if minutes < 60:
        return f"in {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"in {hours} h {rest} min" if rest else f"in {hours} h"


class QALimits:
    def __init__(self, db: Database, clock: Clock, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings

    async def get(self, guild_id: int) -> Limits:
        """The limits in force in this server: the operator's, or the server's lower ones."""
        row = await self.db.fetch_one(
            "SELECT member_daily_tokens, guild_daily_tokens FROM qa_guild_limits"
            " WHERE guild_id = ?",
            (guild_id,),
        )
        return Limits(
            rate_count=self.settings.qa_rate_count,
            rate_window_minutes=self.settings.qa_rate_window_minutes,
            member=in_force(
                self.settings.qa_member_daily_tokens, row["member_daily_tokens"] if row else None
            ),
            guild=in_force(
                self.settings.qa_guild_daily_tokens, row["guild_daily_tokens"] if row else None
            ),
        )

    async def set(
        self,
        guild_id: int,
        moderator_id: int,
        *,
        member_daily_tokens: int | None,
        guild_daily_tokens: int | None,
        reset: bool = False,
    ) -> Limits:
        """Lower the daily token budgets for one server (0: no limit, if the operator set
        none); a figure above the operator's ceiling is refused and changes nothing."""
        if member_daily_tokens is not None:
            check_choice(member_daily_tokens, self.settings.qa_member_daily_tokens, "member")
        if guild_daily_tokens is not None:
            check_choice(guild_daily_tokens, self.settings.qa_guild_daily_tokens, "server")
        now = to_db_time(self.clock.now())
        if reset:
            await self.db.execute("DELETE FROM qa_guild_limits WHERE guild_id = ?", (guild_id,))
            return await self.get(guild_id)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO qa_guild_limits (guild_id, updated_by, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET updated_by = excluded.updated_by,"
                " updated_at = excluded.updated_at",
                (guild_id, moderator_id, now),
            )
            if member_daily_tokens is not None:
                await conn.execute(
                    "UPDATE qa_guild_limits SET member_daily_tokens = ? WHERE guild_id = ?",
                    (member_daily_tokens, guild_id),
                )
            if guild_daily_tokens is not None:
                await conn.execute(
                    "UPDATE qa_guild_limits SET guild_daily_tokens = ? WHERE guild_id = ?",
                    (guild_daily_tokens, guild_id),
                )
        return await self.get(guild_id)

    async def check_rate(
        self, conn: Transaction, guild_id: int, user_id: int, now: datetime
    ) -> None:
        """Refuse (RateLimited) a member who asked QA_RATE_COUNT questions in the window.

        The member's lock makes two questions asked at the same instant count in turn."""
        await conn.lock("qa-member", guild_id, user_id)
        window = timedelta(minutes=self.settings.qa_rate_window_minutes)
        since = to_db_time(now - window)
        count = self.settings.qa_rate_count
        rows = await conn.fetch_all(
            "SELECT created_at FROM qa_questions WHERE guild_id = ? AND user_id = ?"
            " AND created_at > ? AND status != 'failed' ORDER BY created_at DESC LIMIT ?",
            (guild_id, user_id, since, count),
        )
        # Questions asked before the member erased their data still count.
        for key in await member_keys(conn, guild_id, user_id, now):
            rows += await conn.fetch_all(
                "SELECT created_at FROM qa_questions WHERE guild_id = ? AND member_key = ?"
                " AND created_at > ? AND status != 'failed' ORDER BY created_at DESC LIMIT ?",
                (guild_id, key, since, count),
            )
        rows = sorted(rows, key=lambda r: r[0], reverse=True)[:count]
        if len(rows) >= self.settings.qa_rate_count:
            oldest = from_db_time(rows[-1][0])
            wait = (oldest + window - now).total_seconds()
            raise RateLimited(
                f"You've asked {len(rows)} questions in the last "
                f"{self.settings.qa_rate_window_minutes} minutes. "
                f"You can ask again {format_wait(wait)}.",
                wait,
            )

    async def check_budgets(
        self, conn: Transaction, guild_id: int, user_id: int, now: datetime
    ) -> None:
        """Refuse (RateLimited) when the member or the server used today's tokens."""
        limits = await self.get(guild_id)
        day = to_db_time(day_start(now))
        wait = (day_start(now) + timedelta(days=1) - now).total_seconds()
        # What the member used today before erasing their data counts too.
        keys = await member_keys(conn, guild_id, user_id, now)
        mine = " OR ".join(["user_id = ?"] + ["member_key = ?"] * len(keys))
        row = await conn.fetch_one(
            "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0),"
            f" coalesce(sum(CASE WHEN {mine} THEN prompt_tokens + completion_tokens END), 0)"
            " FROM qa_questions WHERE guild_id = ? AND created_at >= ?",
            (user_id, *keys, guild_id, day),
        )
        guild_used, member_used = row[0], row[1]
        if limits.member_daily_tokens and member_used >= limits.member_daily_tokens:
            raise RateLimited(
                f"You've used today's question budget ({limits.member_daily_tokens:,} tokens). "
                f"It resets at midnight UTC: you can ask again {format_wait(wait)}.",
                wait,
            )
        if limits.guild_daily_tokens and guild_used >= limits.guild_daily_tokens:
            raise RateLimited(
                "This server has used today's question budget "
                f"({limits.guild_daily_tokens:,} tokens). It resets at midnight UTC: "
                f"you can ask again {format_wait(wait)}.",
                wait,
            )
