"""When a shard may IDENTIFY: Discord's pace, shared by every process of a cluster.

Discord accepts one IDENTIFY every 5 s in each bucket, `shard_id % max_concurrency`
(max_concurrency comes with /gateway/bot); one too soon is refused with INVALID_SESSION
and costs another 5 s. discord.py's default waits 5 s before every shard after a process's
first, whatever the bucket, and knows nothing of the other processes. `IdentifyPacer`
gives each bucket one turn at a time instead: a shard takes its bucket's turn, identifies,
and the turn stays taken for IDENTIFY_SPACING. Shards in different buckets do not wait for
each other. Between processes the turn is a cluster-wide lock (`Database.exclusively`, a
PostgreSQL advisory lock); a process that runs every shard has nobody to wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

log = logging.getLogger(__name__)

# Discord's 5 s, and a little more: the IDENTIFY leaves a moment after the hook returns.
IDENTIFY_SPACING = 5.25

ClusterTurn = Callable[[str], AbstractAsyncContextManager[None]]


@contextlib.asynccontextmanager
async def no_cluster(name: str) -> AsyncIterator[None]:
    """One process: no other process identifies."""
    yield


class IdentifyPacer:
    """Before each IDENTIFY (discord.py's `before_identify_hook`): wait for the shard's turn."""

    def __init__(
        self,
        max_concurrency: Callable[[], Awaitable[int]],
        cluster_turn: ClusterTurn = no_cluster,
        spacing: float | None = None,
    ) -> None:
        self._ask_max_concurrency = max_concurrency
        self.cluster_turn = cluster_turn
        self.spacing = IDENTIFY_SPACING if spacing is None else spacing
        self.max_concurrency: int | None = None
        self._buckets: dict[int, asyncio.Lock] = {}
        self._turns: set[asyncio.Task[None]] = set()

    async def bucket(self, shard_id: int) -> int:
        if self.max_concurrency is None:
            try:
                self.max_concurrency = max(1, await self._ask_max_concurrency())
            except Exception:
                log.warning("Could not read max_concurrency; identifying one shard at a time")
                self.max_concurrency = 1
        return shard_id % self.max_concurrency

    async def wait_turn(self, shard_id: int) -> None:
        """Return when `shard_id` may IDENTIFY; its bucket stays taken for `spacing` after."""
        bucket = await self.bucket(shard_id)
        taken = asyncio.get_running_loop().create_future()
        turn = asyncio.create_task(self._hold(bucket, taken), name=f"identify-bucket-{bucket}")
        self._turns.add(turn)
        turn.add_done_callback(self._turns.discard)
        await asyncio.wait({turn, taken}, return_when=asyncio.FIRST_COMPLETED)
        if not taken.done():
            turn.result()  # the turn failed before it was taken (the database): raise that

    async def _hold(self, bucket: int, taken: asyncio.Future[None]) -> None:
        lock = self._buckets.setdefault(bucket, asyncio.Lock())
        async with lock, self.cluster_turn(f"identify-bucket:{bucket}"):
            taken.set_result(None)
            await asyncio.sleep(self.spacing)

    async def close(self) -> None:
        """Give back the turns still held (the process stops)."""
        for turn in list(self._turns):
            turn.cancel()
        await asyncio.gather(*self._turns, return_exceptions=True)
