"""Small named values the bot keeps about itself: whether it is running, the health probe."""

from __future__ import annotations

from bot.clock import Clock, to_db_time
from bot.db import Database

RUNNING_SINCE = "running_since"
HEALTH_PROBE = "health_probe"


class BotState:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def get(self, key: str) -> str | None:
        return await self.db.fetch_value("SELECT value FROM bot_state WHERE key = ?", (key,))

    async def set(self, key: str, value: str) -> None:
        await self.db.execute(
            "INSERT INTO bot_state (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (key, value, to_db_time(self.clock.now())),
        )

    async def mark_started(self) -> str | None:
        """Record a start. Returns when the previous run started if it never stopped cleanly
        (killed, crashed, power cut), else None."""
        unfinished = await self.get(RUNNING_SINCE)
        await self.set(RUNNING_SINCE, to_db_time(self.clock.now()))
        return unfinished

    async def mark_stopped(self) -> None:
        await self.db.execute("DELETE FROM bot_state WHERE key = ?", (RUNNING_SINCE,))

    async def probe_write(self) -> None:
        """One real committed write: proves the database file and disk take writes."""
        await self.set(HEALTH_PROBE, to_db_time(self.clock.now()))
