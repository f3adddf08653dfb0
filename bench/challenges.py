"""Benchmark: 1,000 members answering the same daily quiz within a minute.

Runs the real service layer on a real SQLite file (WAL, one writer connection), with the
cog's live-count coalescer editing a fake message. Each member clicks twice at once (a
double click); every answer must be recorded exactly once and the last edit must show the
final counts. Two scenarios:

- spread: arrivals at random instants over --window seconds (default 60, as in the issue);
- burst:  all members at the same instant (worst case: every click queues on the writer).

Usage: python bench/challenges.py [--members 1000] [--window 60] [--edit-window 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import open_database
from bot.errors import DomainError
from bot.services.challenges.daily import DAILY_KIND
from bot.services.guild_settings import ChannelKind
from bot.wiring import Services, build_services
from cogs.challenges._live import LiveCounts

GUILD, CHANNEL = 1, 100


@dataclass
class Outcome:
    latencies_ms: list[float]
    refused: int
    elapsed: float


async def post_quiz(services: Services, day: str) -> int:
    challenges = services.challenges
    assert await services.scheduled_posts.claim(GUILD, DAILY_KIND, day)
    post = await challenges.daily.prepare(GUILD, day)
    await challenges.daily.record_posted(post.id, CHANNEL, 1, None)
    return post.id


async def run(services: Services, post_id: int, members: int, window: float, live: LiveCounts):
    daily = services.challenges.daily
    options = len((await daily.get(GUILD, post_id)).challenge.options)
    rng = random.Random(7)
    latencies: list[float] = []
    refused = 0
    start = time.perf_counter()

    async def member(user_id: int) -> None:
        nonlocal refused
        await asyncio.sleep(rng.uniform(0, window) if window else 0)

        async def click() -> None:
            nonlocal refused
            began = time.perf_counter()
            try:
                await daily.answer(GUILD, post_id, user_id, rng.randrange(options))
            except DomainError:
                refused += 1
            else:
                live.touch(post_id)
            latencies.append((time.perf_counter() - began) * 1000)

        await asyncio.gather(click(), click())  # a double click

    await asyncio.gather(*(member(10_000 + n) for n in range(members)))
    elapsed = time.perf_counter() - start
    await live.flush()
    return Outcome(latencies, refused, elapsed)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def check(services: Services, post_id: int, members: int, shown: dict[int, tuple]):
    db = services.db
    rows = await db.fetch_value("SELECT count(*) FROM daily_answers WHERE post_id = ?", (post_id,))
    correct = await db.fetch_value(
        "SELECT count(*) FROM daily_answers WHERE post_id = ? AND correct = 1", (post_id,)
    )
    points = await db.fetch_value(
        "SELECT count(*) FROM challenge_points WHERE ref = ? AND source = 'daily'", (str(post_id),)
    )
    counts = await services.challenges.daily.counts(post_id)
    ok = rows == members and counts == (rows, correct) and points == correct
    ok = ok and shown.get(post_id) == counts
    return ok, rows, correct, counts, shown.get(post_id)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0, help="seconds to spread arrivals")
    parser.add_argument("--edit-window", type=float, default=5.0, help="live-count edit window")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(_env_file=None, database_path=Path(folder) / "bench.db")
        db = await open_database(settings.database_path)
        clock = FixedClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
        services = build_services(settings, db, clock)
        await services.guild_settings.set_channel(GUILD, ChannelKind.CHALLENGE, CHANNEL)
        shown: dict[int, tuple] = {}

        async def edit(post_id: int) -> None:  # what the cog's message edit reads
            shown[post_id] = await services.challenges.daily.counts(post_id)

        failed = False
        print(f"{args.members} members, each double-clicking; p99 target < 100 ms per answer")
        for name, window, day in (
            ("spread", args.window, "2026-03-02"),
            ("burst", 0.0, "2026-03-03"),
        ):
            live = LiveCounts(args.edit_window, edit)
            post_id = await post_quiz(services, day)
            outcome = await run(services, post_id, args.members, window, live)
            ok, rows, correct, counts, last_shown = await check(
                services, post_id, args.members, shown
            )
            p50, p95, p99 = (percentile(outcome.latencies_ms, s) for s in (0.5, 0.95, 0.99))
            print(
                f"{name:6} window {window:5.1f}s: {len(outcome.latencies_ms)} clicks in "
                f"{outcome.elapsed:6.2f}s | per answer p50 {p50:6.2f} ms, p95 {p95:6.2f} ms, "
                f"p99 {p99:6.2f} ms, max {max(outcome.latencies_ms):6.2f} ms, "
                f"mean {statistics.fmean(outcome.latencies_ms):6.2f} ms"
            )
            print(
                f"       recorded {rows}/{args.members} answers ({correct} correct), "
                f"{outcome.refused} double clicks refused, counts {counts}, last edit shows "
                f"{last_shown}, {live.edits} message edits | {'OK' if ok else 'FAILED'}"
            )
            failed = failed or not ok or (name == "spread" and p99 >= 100)
        await db.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
