"""Decide whether the slash commands must be registered again: only when they changed."""

from __future__ import annotations

import hashlib
import json
from contextlib import AbstractAsyncContextManager
from typing import Any

from bot.clock import Clock, to_db_time
from bot.db import Database


def payload_hash(commands: list[dict[str, Any]]) -> str:
    """A stable fingerprint of the command definitions Discord would receive."""
    canonical = json.dumps(commands, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CommandSyncState:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def one_at_a_time(self) -> AbstractAsyncContextManager[None]:
        """Around a check-and-sync: the processes of a shard cluster that start together
        register the commands once, one after the other (the next finds nothing changed)."""
        return self.db.exclusively("command-sync")

    async def needs_sync(self, scope: str, fingerprint: str) -> bool:
        stored = await self.db.fetch_value(
            "SELECT payload_hash FROM command_sync WHERE scope = ?", (scope,)
        )
        return stored != fingerprint

    async def record(self, scope: str, fingerprint: str) -> None:
        await self.db.execute(
            "INSERT INTO command_sync (scope, payload_hash, synced_at) VALUES (?, ?, ?) "
            "ON CONFLICT (scope) DO UPDATE SET payload_hash = excluded.payload_hash, "
            "synced_at = excluded.synced_at",
            (scope, fingerprint, to_db_time(self.clock.now())),
        )
