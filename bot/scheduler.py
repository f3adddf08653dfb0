"""One scheduler for all timed work: every tick it runs each registered job once.

A job is `async def job(now) -> None`: it asks its service what is due at `now`, sends it,
and records that it did (see `ScheduledPosts`). The database is the queue, so a restart
loses nothing and a late tick catches up once.
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


class Scheduler:
    def __init__(self, clock: Clock, interval_seconds: float = 30.0) -> None:
        self.clock = clock
        self.interval_seconds = interval_seconds
        self._jobs: dict[str, Job] = {}
        self._task: asyncio.Task[None] | None = None
        self.last_tick: datetime | None = None
        self.last_tick_seconds: float = 0.0
        self.failures: dict[str, int] = {}

    def add_job(self, name: str, job: Job) -> None:
        self._jobs[name] = job

    def remove_job(self, name: str) -> None:
        self._jobs.pop(name, None)

    @property
    def job_names(self) -> list[str]:
        return list(self._jobs)

    async def run_once(self) -> None:
        """Run every job for the current instant; one failing job does not stop the others."""
        now = self.clock.now()
        started = asyncio.get_running_loop().time()
        for name, job in list(self._jobs.items()):
            try:
                await job(now)
            except Exception:
                self.failures[name] = self.failures.get(name, 0) + 1
                log.exception("Scheduled job %s failed", name)
        self.last_tick = now
        self.last_tick_seconds = asyncio.get_running_loop().time() - started

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="mentor-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _loop(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval_seconds)
