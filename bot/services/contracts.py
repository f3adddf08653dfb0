"""What one capability's service offers another, as plain data and protocols.

The Q&A service reads a member's roadmap context and the challenges open right now; the
privacy service exports and erases a member's data across every capability, and purges
logs past their retention. Each side depends only on these shapes, not on the other's
module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class MemberContext:
    """Where a member is on the roadmap, for personalising answers."""

    track: str
    phase: str
    month: int
    open_milestones: tuple[str, ...]
    streak_days: int


@dataclass(frozen=True)
class OpenChallenge:
    """A challenge members may be answering now; `/ask` must not give its answer away."""

    kind: str  # "daily" or "weekly"
    title: str
    text: str
    answer: str | None


class MemberContextSource(Protocol):
    async def member_context(self, guild_id: int, user_id: int) -> MemberContext | None: ...


class OpenChallengeSource(Protocol):
    async def open_challenges(self, guild_id: int) -> list[OpenChallenge]: ...


@runtime_checkable
class MemberDataSource(Protocol):
    """A service holding personal data. The privacy service finds every one of these.

    `export_member` returns JSON-ready data (its section of the export); `delete_member`
    erases the member's rows (keeping only anonymous aggregates) and returns how many rows
    went; `delete_guild` erases a server's rows after the bot left it.
    """

    privacy_section: str

    async def export_member(self, user_id: int) -> dict[str, Any]: ...

    async def delete_member(self, user_id: int) -> int: ...

    async def delete_guild(self, guild_id: int) -> int: ...


@runtime_checkable
class LogRetention(Protocol):
    """A service keeping logs (the Q&A questions) only for a while: the privacy service has
    it delete those older than the retention period; it returns how many rows went."""

    async def purge_older_than(self, cutoff: datetime) -> int: ...
