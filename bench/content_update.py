"""The start-up cost of a roadmap content update on a big server.

50,000 members of one server (bench/seed_roadmap.sql) on the ML Engineer track have ticked
1-30 milestones each of the previous release's roadmap (tests/data/roadmap_previous.toml);
the bot then starts with today's. Prints how long the one-off reconciliation takes (it runs
before the bot connects, on the first start after the update), how long the longest of its
transactions holds the writer, and what a start with unchanged content costs.

    python -m bench.content_update
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import open_database
from bot.services.roadmap import catalog
from bot.services.roadmap.content import load_builtin
from bot.services.roadmap.reconcile import TrackPlan
from bot.wiring import build_services

ROOT = Path(__file__).resolve().parents[1]
PREVIOUS = ROOT / "tests" / "data" / "roadmap_previous.toml"
SEED = ROOT / "bench" / "seed_roadmap.sql"


def seed(path: Path) -> int:
    """Members, and their ticks of the previous roadmap, as that release left them."""
    previous = load_builtin(PREVIOUS)
    keys = [m.key for m in previous.milestones_for("ml_engineer")]
    with sqlite3.connect(path) as conn:
        conn.executescript(SEED.read_text(encoding="utf-8"))
        conn.execute("UPDATE roadmap_members SET track = 'ml_engineer'")
        users = [row[0] for row in conn.execute("SELECT user_id FROM roadmap_members")]
        rows = [
            (1, user, key, "2026-01-01T00:00:00Z", "2026-01-01")
            for user in users
            for key in keys[: user % 30 + 1]
        ]
        conn.executemany(
            "INSERT INTO roadmap_milestones (guild_id, user_id, milestone, done_at, done_on) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        plan = TrackPlan.of(previous, "ml_engineer")  # each member's phase on that roadmap
        conn.executemany(
            "UPDATE roadmap_members SET phase = ? WHERE user_id = ?",
            [(plan.current_phase(set(keys[: user % 30 + 1])), user) for user in users],
        )
        conn.execute(
            "INSERT INTO roadmap_content_state (guild_id, fingerprint, titles, synced_at) "
            "VALUES (1, ?, '{}', '2026-01-01T00:00:00Z')",
            (previous.fingerprint(),),
        )
    return len(rows)


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mentor.db"
        await (await open_database(path)).close()
        print(f"milestone rows: {seed(path):,} of 50,000 members")
        db = await open_database(path)
        try:
            clock = FixedClock(datetime(2026, 3, 2, tzinfo=UTC))
            services = build_services(Settings(_env_file=None, database_path=path), db, clock)
            spans: list[float] = []
            reconcile = catalog.reconcile_members

            async def timed(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return await reconcile(*args, **kwargs)
                finally:
                    spans.append(time.perf_counter() - started)

            catalog.reconcile_members = timed
            started = time.perf_counter()
            report = await services.roadmap.catalog.sync_members()
            total = time.perf_counter() - started
            catalog.reconcile_members = reconcile
            print(f"first start after the update: {total:.2f} s ({report})")
            floors = await db.fetch_value(
                "SELECT count(*) FROM roadmap_members WHERE phase_floor > 1"
            )
            print(f"members kept in their phase (a floor) instead of moving back: {floors:,}")
            print(
                f"{len(spans)} transactions: longest {max(spans) * 1000:.0f} ms, "
                f"median {sorted(spans)[len(spans) // 2] * 1000:.0f} ms"
            )
            started = time.perf_counter()
            await services.roadmap.catalog.sync_members()
            unchanged = (time.perf_counter() - started) * 1000
            print(f"a start with unchanged content: {unchanged:.1f} ms")
        finally:
            await db.close()


if __name__ == "__main__":
    asyncio.run(main())
