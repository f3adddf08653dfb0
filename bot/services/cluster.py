"""The processes of a shard cluster, as each records itself in the database.

Each process has a row in `cluster_processes`: where it runs, its shards, and its last
heartbeat (every CLUSTER_HEARTBEAT_SECONDS); `python -m bot status` lists the rows, a
process silent for three intervals shown as gone, and rows silent for a day are pruned.

At start-up (PostgreSQL) a process refuses shards a running process has, and a SHARD_COUNT
other than theirs. A process is running while it holds its own cluster-wide lock
(`process:<id>`, bot/db/), which ends with its database session: a killed process is gone
at once, so restarting it over the same shards is not refused, and a hung one still counts
(it could wake up and post).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock, to_db_time
from bot.config import Settings
from bot.db import Database, Transaction, from_row
from bot.errors import StartupError
from bot.shards import describe_shard_ids, parse_shard_ids

log = logging.getLogger(__name__)

ALIVE_BEATS = 3  # a process silent for this many intervals counts as gone
FORGET_AFTER = timedelta(days=1)


class ClusterConflict(StartupError):
    """A live process already runs some of these shards, or another SHARD_COUNT."""


@dataclass(frozen=True)
class ClusterProcess:
    """One process's row: its shards are `shard_ids` of `shard_count` (None: all of
    Discord's recommended count, that is a process that is not part of a cluster)."""

    process_id: str
    host: str
    pid: int
    shard_count: int | None
    shard_ids: str | None
    started_at: datetime
    last_beat: datetime
    global_work: bool

    def shards(self) -> frozenset[int] | None:
        """Its shard ids; None for every shard there is."""
        if self.shard_count is None:
            return None
        if self.shard_ids is None:
            return frozenset(range(self.shard_count))
        return frozenset(parse_shard_ids(self.shard_ids))

    def describe_shards(self) -> str:
        if self.shard_count is None:
            return "all shards (SHARD_COUNT not set)"
        shards = self.shards() or frozenset()
        return f"shards {describe_shard_ids(tuple(sorted(shards)))} of {self.shard_count}"

    def where(self) -> str:
        return f"{self.host} (pid {self.pid})"


def conflict(mine: ClusterProcess, other: ClusterProcess) -> str | None:
    """Why `mine` may not start beside the live process `other`; None when it may."""
    if mine.shard_count != other.shard_count and None not in (
        mine.shard_count,
        other.shard_count,
    ):
        return (
            f"SHARD_COUNT={mine.shard_count} differs from SHARD_COUNT={other.shard_count} of "
            f"the live process on {other.where()}: every process of a cluster needs the same "
            "count (stop them all to change it)"
        )
    ours, theirs = mine.shards(), other.shards()
    where = f"the live process on {other.where()}"
    if ours is None:
        return (
            f"without SHARD_COUNT this process runs every shard, but {where} runs "
            f"{other.describe_shards()}: set SHARD_COUNT and SHARD_IDS, or stop that one"
        )
    if theirs is None:
        return (
            f"{where} runs every shard (it has no SHARD_COUNT): stop it, or give it "
            "SHARD_COUNT and SHARD_IDS too"
        )
    both = ours & theirs
    if not both:
        return None
    return (
        f"shard {describe_shard_ids(tuple(sorted(both)))} is already run by {where} "
        f"({other.describe_shards()}): give this process other SHARD_IDS, or stop that one"
    )


class ClusterService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        holds_global_work: Callable[[], bool] = lambda: False,
    ) -> None:
        self.db = db
        self.clock = clock
        self.interval = timedelta(seconds=settings.cluster_heartbeat_seconds)
        self.shard_count = settings.shard_count
        self.shard_ids = settings.shard_ids
        self.process_id = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.holds_global_work = holds_global_work  # the scheduler's answer, shown by status

    @staticmethod
    def lock_name(process_id: str) -> str:
        return f"process:{process_id}"

    @property
    def alive_within(self) -> timedelta:
        return self.interval * ALIVE_BEATS

    def me(self, now: datetime) -> ClusterProcess:
        return ClusterProcess(
            self.process_id,
            self.host,
            self.pid,
            self.shard_count,
            self.shard_ids,
            now,
            now,
            self.holds_global_work(),
        )

    async def join(self, *, refuse_conflicts: bool = True) -> None:
        """Record this process. With `refuse_conflicts`, raise ClusterConflict when a live
        process runs any of its shards or uses another SHARD_COUNT.

        A row of this host and pid is this process's predecessor (a restarted container is
        pid 1 again): it cannot be alive, as this process has its pid now.
        """
        now = self.clock.now()
        me = self.me(now)
        await self.db.hold(self.lock_name(self.process_id))
        async with self.db.transaction() as tx:
            await tx.lock("cluster_processes")  # two processes starting at once: in turn
            await tx.execute(
                "DELETE FROM cluster_processes WHERE host = ? AND pid = ?", (self.host, self.pid)
            )
            if refuse_conflicts:
                why = await self._conflict(tx, me)
                if why is not None:
                    raise ClusterConflict(why)
            await tx.execute(
                "INSERT INTO cluster_processes (process_id, host, pid, shard_count, shard_ids, "
                "started_at, last_beat, global_work) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    self.process_id,
                    self.host,
                    self.pid,
                    self.shard_count,
                    self.shard_ids,
                    to_db_time(now),
                    to_db_time(now),
                ),
            )
        log.info("Joined the cluster as %s: %s", me.where(), me.describe_shards())

    async def check(self) -> str | None:
        """Why this process could not start beside the running ones now; None if it can."""
        return await self._conflict(self.db, self.me(self.clock.now()))

    async def _conflict(self, reader: Database | Transaction, me: ClusterProcess) -> str | None:
        rows = await reader.fetch_all("SELECT * FROM cluster_processes ORDER BY started_at")
        for row in rows:
            other = from_row(ClusterProcess, row)
            if other.process_id == me.process_id:
                continue
            if not await self.db.held_elsewhere(self.lock_name(other.process_id)):
                continue  # its session ended: stopped, killed, or cut off
            why = conflict(me, other)
            if why is not None:
                return why + "."
        return None

    async def beat(self) -> None:
        """Say this process is alive; forget processes silent for a day."""
        now = self.clock.now()
        await self.db.hold(self.lock_name(self.process_id))  # again, after a reconnection
        changed = await self.db.execute(
            "UPDATE cluster_processes SET last_beat = ?, global_work = ? WHERE process_id = ?",
            (to_db_time(now), int(self.holds_global_work()), self.process_id),
        )
        if changed == 0:  # pruned while this process was stalled: it is back
            await self.join(refuse_conflicts=False)
        await self.db.execute(
            "DELETE FROM cluster_processes WHERE last_beat < ?",
            (to_db_time(now - FORGET_AFTER),),
        )

    async def beat_forever(self) -> None:
        """Beat every CLUSTER_HEARTBEAT_SECONDS until cancelled; a failed beat is logged."""
        while True:
            await asyncio.sleep(self.interval.total_seconds())
            try:
                await self.beat()
            except Exception:
                log.warning("Could not record this process's heartbeat", exc_info=True)

    async def leave(self) -> None:
        """A clean stop: the row goes at once, so a restart over the same shards is free."""
        await self.db.execute(
            "DELETE FROM cluster_processes WHERE process_id = ?", (self.process_id,)
        )

    async def processes(self) -> list[ClusterProcess]:
        """Every process seen in the last day: by shard, then those without SHARD_COUNT."""
        rows = await self.db.fetch_all("SELECT * FROM cluster_processes")
        found = [from_row(ClusterProcess, row) for row in rows]
        return sorted(
            found, key=lambda p: (p.shard_count is None, min(p.shards() or {0}), p.started_at)
        )

    def alive(self, process: ClusterProcess) -> bool:
        return self.clock.now() - process.last_beat <= self.alive_within
