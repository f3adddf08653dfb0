"""Start-up time: from process start to READY, optionally on a database seeded with data.

`--seed-sql FILE` runs a script on the migrated database first (for example one that
inserts 2,000,000 check-ins with a recursive CTE), so the figure covers start-up work that
grows with the data. Two moments are reported: the gateway READY (the simulator sends it
after IDENTIFY) and on_ready (discord.py waits `guild_ready_timeout`, 2 s, for more
servers before it fires).

`--seed-checkins 2000000` seeds one server's members and check-ins through the storage API
instead (bench/roadmap.py), on either engine: BENCH_DATABASE_URL names an empty PostgreSQL
database to use instead of a scratch SQLite file.

    python -m bench.startup
    python -m bench.startup --seed-sql bench/seed_roadmap.sql
    BENCH_DATABASE_URL=postgresql://... python -m bench.startup --seed-checkins 2000000
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.engine import bench_target, bot_env, engine_name
from bench.roadmap import seed as roadmap_seed
from bench.roadmap import size_mb as roadmap_size_mb
from bot.db import open_database
from simulator import Simulator
from simulator.process import BotProcess


def seed(path: Path, script: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(script.read_text(encoding="utf-8"))


def size_mb(path: Path) -> float:
    with sqlite3.connect(path) as conn:
        pages, page_size = conn.execute(
            "SELECT * FROM pragma_page_count(), pragma_page_size()"
        ).fetchone()
    return pages * page_size / 1e6


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "mentor.db"
        db = await open_database(bench_target(Path(folder), "mentor.db"))
        if args.seed_checkins:
            members = max(1, args.seed_checkins // 40)
            await roadmap_seed(db, members, args.seed_checkins)
        size = await roadmap_size_mb(db)
        await db.close()
        if args.seed_sql:
            seed(database, args.seed_sql)
            size = size_mb(database)
        print(f"{engine_name()} database: {size:.1f} MB")
        for run in range(1, args.runs + 1):
            sim = Simulator()
            await sim.start()
            sim.add_community_guild()
            started = time.perf_counter()
            bot = await BotProcess.start(sim, Path(folder), bot_env())
            try:
                await asyncio.wait_for(sim.gateway.ready.wait(), 60)
                gateway_ready = time.perf_counter() - started
                await bot.wait_for_log("Connected as")
                on_ready = time.perf_counter() - started
            finally:
                await bot.stop()
                await sim.close()
            print(f"run {run}: READY after {gateway_ready:.2f} s, on_ready after {on_ready:.2f} s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-sql", type=Path, help="SQL run on the migrated SQLite file first")
    parser.add_argument(
        "--seed-checkins",
        type=int,
        default=0,
        help="check-ins of one server (40 per member) seeded first, on either engine",
    )
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
