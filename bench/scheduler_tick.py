"""How long one scheduler tick holds the event loop with thousands of configured servers.

A simulator holds --guilds community servers; a real bot (as the tests build it) connects
to it, and every server is configured (challenge and check-in channels). The clock stands at
noon UTC, after every server's posting time, and this day's daily challenge, the previous
month's top and last week's digest are recorded as sent for every server: the steady state
of a busy process, in which every tick finds nothing to post. Each tick is then run
--ticks times while a probe task measures the longest stretch the loop could not run it
(the stall a /checkin arriving then would wait out).

    python -m bench.scheduler_tick                   # SQLite, 5,000 servers
    python -m bench.scheduler_tick --guilds 10000 --postgres
    python -m bench.scheduler_tick --unconfigured --enrol-every 10   # as in bench.shards
    python -m bench.scheduler_tick --profile 1       # cProfile of the first tick, top 25
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.engine import postgres_server
from bench.storage import fresh_database
from bot.clock import FixedClock, to_db_time
from bot.config import Settings
from bot.services.challenges.daily import DAILY_KIND
from bot.services.challenges.service import MONTH_TOP_KIND
from bot.services.challenges.timeutil import previous_month
from bot.services.roadmap.dates import monday, week_key
from bot.services.roadmap.digest import DIGEST_KIND
from simulator import Simulator
from simulator import harness as harness_module
from simulator.harness import SimHarness

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday, after 09:00 everywhere below
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata")
TARGET_STALL_MS = 5.0


async def seed(harness: SimHarness, sim: Simulator) -> int:
    """Configure every server and record its posts of the day as sent; returns the count."""
    db = harness.services.db
    settings, posts = [], []
    now = to_db_time(NOW)
    for n, guild in enumerate(sim.state.guilds.values()):
        zone = ZONES[n % len(ZONES)]
        local = NOW.astimezone(ZoneInfo(zone)).date()
        settings.append(
            (guild.id, guild.channel("challenges"), guild.channel("checkins"), zone, now)
        )
        week = week_key(monday(local) - timedelta(days=7))
        for kind, period in (
            (DAILY_KIND, local.isoformat()),
            (MONTH_TOP_KIND, previous_month(NOW, ZoneInfo(zone))),
            (DIGEST_KIND, week),
        ):
            posts.append((guild.id, kind, period, now, now))
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO guild_settings (guild_id, challenge_channel_id, checkin_channel_id,"
            " timezone, updated_at) VALUES (?, ?, ?, ?, ?)",
            settings,
        )
        await tx.executemany(
            "INSERT INTO scheduled_posts (guild_id, kind, period, status, claimed_at, attempts,"
            " sent_at) VALUES (?, ?, ?, 'sent', ?, 1, ?)",
            posts,
        )
    return len(settings)


async def enrol(harness: SimHarness, sim: Simulator, every: int) -> int:
    """One member on the roadmap in every `every`-th server (as bench.shards does)."""
    members = harness.services.roadmap.members
    enrolled = 0
    for n, guild in enumerate(sim.state.guilds.values()):
        if n % every == 0:
            await members.start(guild.id, guild.owner_id, "ai_engineer")
            enrolled += 1
    return enrolled


async def longest_stall(tick: asyncio.Task[None]) -> float:
    """The longest time, in seconds, the loop took to come back to a 1 ms sleep."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not tick.done():
        before = loop.time()
        await asyncio.sleep(0.001)
        worst = max(worst, loop.time() - before - 0.001)
    return worst


async def measure(settings: Settings, args: argparse.Namespace) -> None:
    guilds, ticks, profile = args.guilds, args.ticks, args.profile
    sim = Simulator()
    for g in range(guilds):
        sim.add_community_guild(f"Community {g}")
    await sim.start()
    harness_module.READY_TIMEOUT = 600  # thousands of GUILD_CREATEs, not the tests' one
    harness = await SimHarness.start(settings, FixedClock(NOW), sim)
    try:
        configured = 0 if args.unconfigured else await seed(harness, sim)
        enrolled = await enrol(harness, sim, args.enrol_every) if args.enrol_every else 0
        scheduler = harness.services.scheduler
        print(f"{guilds} servers, {configured} configured, {enrolled} members enrolled")
        for n in range(ticks):
            profiler = cProfile.Profile() if profile == n + 1 else None
            started = time.perf_counter()
            with profiler or contextlib.nullcontext():
                tick = asyncio.create_task(scheduler.run_once())
                stall = await longest_stall(tick)
                await tick
            elapsed = time.perf_counter() - started
            met = "met" if stall * 1000 < TARGET_STALL_MS else "missed"
            print(
                f"tick {n + 1}: {elapsed * 1000:.0f} ms in all, longest stall"
                f" {stall * 1000:.1f} ms (target < {TARGET_STALL_MS:.0f} ms: {met})"
            )
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    finally:
        await harness.close()
        await sim.close()


async def main(args: argparse.Namespace) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        if args.postgres:
            with postgres_server(None) as admin_url:
                url = await fresh_database(admin_url, "mentor_tick")
                settings = Settings(_env_file=None, database_url=url)
                await measure(settings, args)
        else:
            settings = Settings(_env_file=None, database_path=Path(folder) / "mentor.db")
            await measure(settings, args)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=5000)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--unconfigured", action="store_true", help="no server configured")
    parser.add_argument("--enrol-every", type=int, default=0, help="a member in every Nth server")
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL")
    parser.add_argument("--profile", type=int, metavar="TICK", help="cProfile this tick (1...)")
    asyncio.run(main(parser.parse_args()))
