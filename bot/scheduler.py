"""One scheduler for all timed work: every tick it runs each registered job once.

A job is `async def job(now) -> None`: it asks its service what is due at `now`, sends it,
and records that it did (see `ScheduledPosts`). The database is the queue, so a restart
loses nothing and a late tick catches up once.

In a shard cluster every process runs its own scheduler. A job's services select only this
process's servers (`ShardScope`, bot/shards.py). Work that is not per server (retention,
erasure, backups) is a *cluster job*: it runs only in the process that holds the cluster's
global-work lock, taken (or confirmed) at each tick, so when that process dies another one
takes the work over at its next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.clock import Clock

log = logging.getLogger(__name__)

Job = Callable[[datetime], Awaitable[None]]
GlobalWorkLock = Callable[[], Awaitable[bool]]


async def always_ours() -> bool:
    """One process and no cluster: all the work is this process's."""
    return True


class Scheduler:
    def __init__(
        self,
        clock: Clock,
        interval_seconds: float = 30.0,
        global_work: GlobalWorkLock = always_ours,
    ) -> None:
        self.clock = clock
        self.interval_seconds = interval_seconds
        self.global_work = global_work
        self._jobs: dict[str, Job] = {}
        self._cluster_jobs: set[str] = set()
        # Whether this process ran the cluster jobs at its last tick (None: not asked yet).
        self.holds_global_work: bool | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.last_tick: datetime | None = None
        self.last_tick_seconds: float = 0.0
        self.failures: dict[str, int] = {}

    def add_job(self, name: str, job: Job, *, cluster: bool = False) -> None:
        """Add a job; `cluster`: not per server, run by one process of a cluster at a time."""
        self._jobs[name] = job
        if cluster:
            self._cluster_jobs.add(name)

    def remove_job(self, name: str) -> None:
        self._jobs.pop(name, None)
        self._cluster_jobs.discard(name)

    async def _ours(self) -> bool:
        try:
            ours = await self.global_work()
        except Exception:
            log.exception("Could not ask for the cluster's global-work lock")
            ours = False
        if ours != self.holds_global_work:
            if ours:
                log.info("This process now runs the cluster-wide work (retention, erasure, ...)")
            elif self.holds_global_work is not None:
                log.warning("Another process runs the cluster-wide work now")
        self.holds_global_work = ours
        return ours

    async def run_once(self) -> None:
        """Run every job for the current instant; one failing job does not stop the others."""
        now = self.clock.now()
        started = asyncio.get_running_loop().time()
        ours = await self._ours() if self._cluster_jobs else False
        for name, job in list(self._jobs.items()):
            if name in self._cluster_jobs and not ours:
                continue
            try:
                await job(now)
            except Exception:
                self.failures[name] = self.failures.get(name, 0) + 1
                log.exception("Scheduled job %s failed", name)
        self.last_tick = now
        self.last_tick_seconds = asyncio.get_running_loop().time() - started

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="mentor-scheduler")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """End the loop. A tick in progress may finish first, for up to `grace_seconds`.

        Cancelling a job between its claim and its post would leave the post claimed but
        never sent, so a clean stop lets the running tick end and starts no new one.
        """
        task, self._task = self._task, None
        if task is None or task.done():
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_seconds)
        except TimeoutError:
            log.warning("A scheduled job still ran after %.0f s; cancelling it", grace_seconds)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def lag_seconds(self) -> float | None:
        """Seconds since the last tick began by the scheduler's clock; None before the first."""
        if self.last_tick is None:
            return None
        return max(0.0, (self.clock.now() - self.last_tick).total_seconds())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            await self.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_seconds)
