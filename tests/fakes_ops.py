"""Small stand-ins for capability services, used by the operations tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.shards import ShardState
from bot.wiring import Services


class FakeNotesSource:
    """A MemberDataSource over an in-memory list of (guild, user, text) notes."""

    def __init__(self, section: str = "notes", fail_on_delete: bool = False) -> None:
        self.privacy_section = section
        self.notes: list[tuple[int, int, str]] = []
        self.fail_on_delete = fail_on_delete

    def add(self, guild_id: int, user_id: int, text: str) -> None:
        self.notes.append((guild_id, user_id, text))

    async def export_member(self, user_id: int) -> dict[str, Any]:
        return {
            "notes": [{"guild_id": str(g), "text": t} for g, u, t in self.notes if u == user_id]
        }

    async def delete_member(self, user_id: int) -> int:
        if self.fail_on_delete:
            raise RuntimeError("storage unavailable")
        before = len(self.notes)
        self.notes = [n for n in self.notes if n[1] != user_id]
        return before - len(self.notes)

    async def delete_guild(self, guild_id: int) -> int:
        before = len(self.notes)
        self.notes = [n for n in self.notes if n[0] != guild_id]
        return before - len(self.notes)


class FakeQA:
    """The one method of the Q&A service the retention job calls, over asked-at times."""

    def __init__(self, asked_at: list[datetime]) -> None:
        self.asked_at = list(asked_at)
        self.cutoffs: list[datetime] = []

    async def purge_older_than(self, cutoff: datetime) -> int:
        self.cutoffs.append(cutoff)
        before = len(self.asked_at)
        self.asked_at = [t for t in self.asked_at if t >= cutoff]
        return before - len(self.asked_at)


@dataclass
class FakeSocket:
    open: bool = True


class FakeBot:
    """The few things the health check reads from the bot, with a connected gateway."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ws: FakeSocket | None = FakeSocket()
        self.ready = True
        self.closed = False
        self.accepting_interactions = True

    def is_ready(self) -> bool:
        return self.ready

    def is_closed(self) -> bool:
        return self.closed

    def shard_states(self) -> list[ShardState]:
        """One shard, connected while `ws` is open."""
        return [ShardState(0, self.ws is not None and self.ws.open, self.ready, 0.042)]

    def shard_labels(self) -> dict[str, str]:
        """As a process running shards 0 and 1 of a cluster of 4 would say."""
        return {"shards": "0-1", "shard_count": "4"}
