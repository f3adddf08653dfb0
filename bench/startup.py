"""Start-up time: from process start to READY, optionally on a database seeded with data.

`--seed-sql FILE` runs a script on the migrated database first (for example one that
inserts 2,000,000 check-ins with a recursive CTE), so the figure covers start-up work that
grows with the data. Two moments are reported: the gateway READY (the simulator sends it
after IDENTIFY) and on_ready (discord.py waits `guild_ready_timeout`, 2 s, for more
servers before it fires).

    python -m bench.startup
    python -m bench.startup --seed-sql seed_checkins.sql
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

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
        db = await open_database(database)
        await db.close()
        if args.seed_sql:
            seed(database, args.seed_sql)
        print(f"database: {size_mb(database):.1f} MB")
        for run in range(1, args.runs + 1):
            sim = Simulator()
            await sim.start()
            sim.add_community_guild()
            started = time.perf_counter()
            bot = await BotProcess.start(sim, Path(folder))
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
    parser.add_argument("--seed-sql", type=Path, help="SQL run on the migrated database first")
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
