"""Usage that outlives an erasure: questions counted under a keyed hash, not a member id.

When a member erases their data, their questions lose their id and text, but the ones that
still count towards the rate limit or today's token budget keep a `member_key`: an HMAC
of (server, member) under a random key of that UTC day. The limits match it, so erasing
does not hand a member a fresh quota. The day's key lives in `bot_state` and is deleted,
and the `member_key`s cleared, once no window can reach back to that day (after the next
day ends): from then on nothing links those rows to anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime, timedelta

from bot.clock import from_db_time, to_db_time
from bot.db import Database, Transaction

KEY_PREFIX = "qa_usage_key:"
# The rate window is at most a day (QA_RATE_WINDOW_MINUTES <= 1440) and budgets are per UTC
# day, so a row can matter on its own day and the next one only.
DAYS_KEPT = 2


def day_name(day: date) -> str:
    return f"{KEY_PREFIX}{day.isoformat()}"


def days_in_reach(now: datetime) -> list[date]:
    """The UTC days whose questions can still count against a limit at `now`."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=n) for n in range(DAYS_KEPT)]


def member_key(key: str, guild_id: int, user_id: int) -> str:
    message = f"{guild_id}:{user_id}".encode()
    return hmac.new(bytes.fromhex(key), message, hashlib.sha256).hexdigest()


async def keys_for(conn: Transaction, days: list[date]) -> dict[date, str]:
    """The keys of these days that exist (only days with an erasure have one)."""
    names = [day_name(d) for d in days]
    rows = await conn.fetch_all(
        f"SELECT key, value FROM bot_state WHERE key IN ({', '.join('?' * len(names))})",
        names,
    )
    return {date.fromisoformat(row[0].removeprefix(KEY_PREFIX)): row[1] for row in rows}


async def member_keys(conn: Transaction, guild_id: int, user_id: int, now: datetime) -> list[str]:
    """The keys under which this member's erased questions still count (often none)."""
    keys = await keys_for(conn, days_in_reach(now))
    return [member_key(key, guild_id, user_id) for key in keys.values()]


async def keep_counting(conn: Transaction, user_id: int, now: datetime) -> None:
    """Before an erasure: key the member's questions that can still count against a limit."""
    days = days_in_reach(now)
    since = datetime.combine(days[-1], datetime.min.time(), UTC)
    rows = await conn.fetch_all(
        "SELECT id, guild_id, created_at FROM qa_questions WHERE user_id = ? AND created_at >= ?",
        (user_id, to_db_time(since)),
    )
    if not rows:
        return
    stamp = to_db_time(now)
    for day in {from_db_time(row[2]).date() for row in rows}:
        await conn.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO NOTHING",
            (day_name(day), secrets.token_hex(32), stamp),
        )
    keys = await keys_for(conn, days)
    await conn.executemany(
        "UPDATE qa_questions SET member_key = ? WHERE id = ?",
        [(member_key(keys[from_db_time(r[2]).date()], r[1], user_id), r[0]) for r in rows],
    )


async def expire(db: Database, now: datetime) -> None:
    """Forget the keys (and unlink the rows) of days no limit can reach any more."""
    oldest = days_in_reach(now)[-1]
    since = datetime.combine(oldest, datetime.min.time(), UTC)
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE qa_questions SET member_key = NULL WHERE member_key IS NOT NULL"
            " AND created_at < ?",
            (to_db_time(since),),
        )
        await conn.execute(
            "DELETE FROM bot_state WHERE key LIKE ? AND key < ?",
            (f"{KEY_PREFIX}%", day_name(oldest)),
        )
