"""Which servers are this process's: its shards, as Discord routes servers to shards.

Discord sends a server's events to shard `(guild_id >> 22) % shard_count`. A process that
runs shard ids `ids` of `count` shards does the scheduled work of those servers only;
`ShardScope` says which they are, in Python (`owns`) and in SQL (`sql`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PART = re.compile(r"^(\d+)(?:-(\d+))?$")


class BadShardIds(ValueError):
    """SHARD_IDS is not a list of shard numbers and ranges."""


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """`0-3`, `0,1` or `0-1,3` as sorted shard ids; a malformed list raises BadShardIds."""
    ids: set[int] = set()
    for part in text.replace(" ", "").split(","):
        match = _PART.match(part)
        if match is None:
            raise BadShardIds(
                f"{text!r} is not a list of shard numbers and ranges like 0-3, 0,1 or 0-1,3"
            )
        first = int(match[1])
        last = int(match[2]) if match[2] is not None else first
        if last < first:
            raise BadShardIds(f"the range {part} goes backwards: write it as {last}-{first}")
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


def describe_shard_ids(ids: tuple[int, ...]) -> str:
    """The shortest SHARD_IDS spelling of `ids`: (0, 1, 2, 5) is `0-2,5`."""
    parts: list[str] = []
    start = previous = None
    for shard in ids:
        if previous is not None and shard == previous + 1:
            previous = shard
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = shard
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ",".join(parts)


@dataclass(frozen=True)
class ShardScope:
    """The shards of this process: `ids` among `count`. One process with every shard (the
    default, and any bot that is not a cluster) owns every server."""

    count: int = 1
    ids: tuple[int, ...] = (0,)

    @property
    def everything(self) -> bool:
        """Whether this process owns every server (all shards are its own)."""
        return set(self.ids) >= set(range(self.count))

    def owns(self, guild_id: int) -> bool:
        """Whether Discord routes this server to one of this process's shards."""
        return self.everything or (guild_id >> 22) % self.count in self.ids

    def sql(self, column: str) -> str:
        """A condition on a guild id column, true for this process's servers.

        The same text works on SQLite and PostgreSQL (both have `>>` and `%` on 64-bit
        integers). It holds only this scope's own numbers, never input; a process with
        every shard gets `TRUE`, which costs nothing.
        """
        if self.everything:
            return "TRUE"
        ids = ", ".join(str(int(shard)) for shard in self.ids)
        return f"(({column} >> 22) % {int(self.count)}) IN ({ids})"

    def describe(self) -> str:
        """How logs, health and metrics name the shards: `0-1 of 4`."""
        return f"{describe_shard_ids(self.ids)} of {self.count}"


@dataclass(frozen=True)
class ShardState:
    """One shard's gateway connection as `/healthz` reports it."""

    id: int
    connected: bool
    ready: bool
    latency_seconds: float | None

    def as_json(self) -> dict[str, object]:
        latency = self.latency_seconds
        return {
            "connected": self.connected,
            "ready": self.ready,
            "latency_ms": None if latency is None else round(latency * 1000, 1),
        }


# One process with every shard: the scope of a bot that is not a cluster (the default).
EVERY_SHARD = ShardScope()
