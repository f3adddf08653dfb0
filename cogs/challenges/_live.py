"""Live answer counts on daily posts: at most one message edit per post per window."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class LiveCounts:
    """Coalesces edits: the first answer in a window schedules one edit, later answers in
    the same window ride along, and the edit reads the counts when it runs, so the last
    edit always shows the final numbers."""

    def __init__(self, window_seconds: float, edit: Callable[[int], Awaitable[None]]) -> None:
        self.window = window_seconds
        self._edit = edit
        self._pending: dict[int, asyncio.Task[None]] = {}
        self._last_edit: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # scheduled or editing right now
        self.edits = 0

    def touch(self, post_id: int) -> None:
        """An answer came in: make sure one edit of this post is scheduled."""
        task = self._pending.get(post_id)
        if task is not None and not task.done():
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._last_edit.get(post_id, -1e9) + self.window - loop.time())
        task = loop.create_task(self._run(post_id, delay), name=f"challenge-counts-{post_id}")
        self._pending[post_id] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, post_id: int, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        self._last_edit[post_id] = asyncio.get_running_loop().time()
        self._pending.pop(post_id, None)
        try:
            await self._edit(post_id)
            self.edits += 1
        except Exception:
            log.warning("Could not update the counts of daily post %s", post_id, exc_info=True)

    async def flush(self) -> None:
        """Wait until every scheduled or running edit has finished (tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pending.clear()
