"""Small named values the bot keeps about itself: whether it is running, the health probe."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.clock import Clock, to_db_time
from bot.db import Database
from bot.shards import EVERY_SHARD, ShardScope

RUNNING_SINCE = "running_since"
HEALTH_PROBE = "health_probe"
# /healthz may be asked every second; a real write to prove the disk takes writes is
# made at most this often, and a read in between.
WRITE_PROBE_EVERY = timedelta(minutes=1)


class BotState:
    def __init__(self, db: Database, clock: Clock, shards: ShardScope = EVERY_SHARD) -> None:
        self.db = db
        self.clock = clock
        self._last_write_probe: datetime | None = None
        # Each process of a shard cluster records its own run: a process starting beside a
        # live one must not take that one's run for its own unclean stop.
        self._running_key = (
            RUNNING_SINCE if shards.everything else f"{RUNNING_SINCE}:{shards.describe()}"
        )

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
        unfinished = await self.get(self._running_key)
        await self.set(self._running_key, to_db_time(self.clock.now()))
        return unfinished

    async def mark_stopped(self) -> None:
        await self.db.execute("DELETE FROM bot_state WHERE key = ?", (self._running_key,))

    async def probe(self) -> None:
        """Prove the database answers: a read every time, and at most once per
        WRITE_PROBE_EVERY a real committed write (the file and the disk take writes)."""
        now = self.clock.now()
        last = self._last_write_probe
        if last is not None and now - last < WRITE_PROBE_EVERY:
            await self.db.fetch_value("SELECT value FROM bot_state WHERE key = ?", (HEALTH_PROBE,))
            return
        await self.set(HEALTH_PROBE, to_db_time(now))
        self._last_write_probe = now
