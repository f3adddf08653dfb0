"""Roadmap at scale: 50,000 members and 2,000,000 check-ins in one server, on either engine.

Seeds the database in bulk (through the storage API, a transaction per batch), then
measures through the real services, on the real schema:

- check-in writes per second, each one committed (service call): one after another, and
  with 10 members checking in at once (the PostgreSQL pool's size);
- /leaderboard and /streak queries, p50 and p99 (service calls, every board and period);
- finding the members due for a reminder in one minute, p50 and p99;
- rendering the 26-week heatmap PNG, p50 and p99.

    python -m bench.roadmap                 # seeds a temporary SQLite database
    python -m bench.roadmap --db big.db     # seeds big.db once and reuses it afterwards
    python -m bench.roadmap --database-url postgresql://...   # an empty PostgreSQL database
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.clock import FixedClock, from_db_time, to_db_time
from bot.config import Settings
from bot.db import Database, open_database
from bot.db.url import PostgresTarget, SqliteTarget, parse_database_url
from bot.services.roadmap.content import load_builtin
from bot.services.roadmap.dates import period_keys
from bot.services.roadmap.leaderboard import Board, Period
from bot.wiring import build_services
from cogs.roadmap._charts import heatmap_png

GUILD = 1
FIRST_USER = 10_000
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # a Thursday
HISTORY_DAYS = 180
CONCURRENCY = 10
TARGETS = {
    "writes": 2000.0,
    "leaderboard": 10.0,
    "streak": 10.0,
    "reminders": 50.0,
    "heatmap": 50.0,
}


def member_days(rng: random.Random, count: int) -> list[date]:
    """`count` distinct days within the history, in runs, like a member who mostly keeps up."""
    today = NOW.date()
    start = today - timedelta(days=rng.randrange(count + 5, HISTORY_DAYS))
    days: list[date] = []
    day = start
    while len(days) < count and day <= today:
        days.append(day)
        day += timedelta(days=1 if rng.random() < 0.8 else rng.randint(2, 4))
    while len(days) < count:  # ran into today: fill the gaps before the start
        start -= timedelta(days=1)
        days.insert(0, start)
    return days


def streak_of(days: list[date]) -> tuple[int, int]:
    best = current = 0
    for previous, day in zip([None, *days], days, strict=False):
        current = current + 1 if previous and (day - previous).days == 1 else 1
        best = max(best, current)
    return current, best


SEED_BATCH = 20_000


async def seed(db: Database, members: int, checkins: int, seed_value: int = 7) -> None:
    """Bulk-insert members, check-ins, milestones and period counters, in batches."""
    rng = random.Random(seed_value)
    per_member = checkins // members
    roadmap = load_builtin()
    member_rows, checkin_rows, period_rows, milestone_rows = [], [], [], []
    for index in range(members):
        user = FIRST_USER + index
        track = rng.choice(("ai_engineer", "ml_engineer"))
        days = member_days(rng, per_member)
        current, best = streak_of(days)
        minute = rng.randrange(24 * 60)
        remind = f"{minute // 60:02d}:{minute % 60:02d}"
        next_at = datetime.combine(NOW.date(), datetime.min.time(), tzinfo=UTC) + timedelta(
            minutes=minute
        )
        if next_at <= NOW:
            next_at += timedelta(days=1)
        counters: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for day in days:
            minutes = rng.choice((15, 30, 45, 60, 90))
            created = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(
                minutes=rng.randrange(6 * 60, 23 * 60)
            )
            checkin_rows.append(
                (GUILD, user, to_db_time(created), day.isoformat(), 7, minutes, "worked on it")
            )
            for key in period_keys(day):
                counter = counters[key]
                counter[0] += 1
                counter[1] += 1
                counter[2] += minutes
        done = roadmap.milestones_for(track)[: rng.randrange(9)]
        for milestone in done:
            day = rng.choice(days)
            milestone_rows.append((GUILD, user, milestone.key, to_db_time(NOW), day.isoformat()))
            for key in period_keys(day):
                counters[key][3] += 1
        for key, (count, day_count, minutes, milestones) in counters.items():
            period_rows.append((GUILD, user, key, count, day_count, minutes, milestones, best))
        last = days[-1]
        member_rows.append(
            (
                GUILD,
                user,
                track,
                (NOW.date() - timedelta(days=HISTORY_DAYS)).isoformat(),
                current,
                best,
                last.isoformat(),
                to_db_time(datetime.combine(last, datetime.min.time(), tzinfo=UTC)),
                (last - timedelta(days=current - 1)).isoformat(),
                len(days),
                len(days),
                len(done),
                1 + sum(1 for m in done if m.phase == 1) // 7,
                remind,
                to_db_time(next_at),
                to_db_time(NOW - timedelta(days=HISTORY_DAYS)),
            )
        )
    statements = (
        (
            "INSERT INTO roadmap_members (guild_id, user_id, track, start_date, current_streak, "
            "best_streak, last_date, last_at, run_start, checkins_total, checkin_days, "
            "milestones_done, phase, remind_time, remind_next_at, enrolled_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            member_rows,
        ),
        (
            "INSERT INTO roadmap_checkins (guild_id, user_id, created_at, local_date, "
            "weekly_goal, minutes, did) VALUES (?, ?, ?, ?, ?, ?, ?)",
            checkin_rows,
        ),
        (
            "INSERT INTO roadmap_milestones (guild_id, user_id, milestone, done_at, done_on) "
            "VALUES (?, ?, ?, ?, ?)",
            milestone_rows,
        ),
        (
            "INSERT INTO roadmap_period_stats (guild_id, user_id, period, checkins, days, "
            "minutes, milestones, streak_max) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            period_rows,
        ),
    )
    for sql, rows in statements:
        for start in range(0, len(rows), SEED_BATCH):
            await db.executemany(sql, rows[start : start + SEED_BATCH])
    await db.execute("ANALYZE")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def timed(work: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return samples


def verdict(name: str, value: float, higher_is_better: bool = False) -> str:
    target = TARGETS[name]
    ok = value >= target if higher_is_better else value < target
    return "ok" if ok else "MISSED"


async def prepare(target: SqliteTarget | PostgresTarget, members: int, checkins: int) -> Database:
    """Open and migrate the database; seed it unless it already holds the data."""
    db = await open_database(target)
    if await db.fetch_value("SELECT count(*) FROM roadmap_members") == 0:
        started = time.perf_counter()
        await seed(db, members, checkins)
        print(
            f"seeded {members:,} members and {checkins:,} check-ins "
            f"in {time.perf_counter() - started:.1f} s"
        )
    return db


async def size_mb(db: Database) -> float:
    if db.engine == "sqlite":
        sql = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
    else:
        sql = "SELECT pg_database_size(current_database())"
    return await db.fetch_value(sql) / 1e6


async def run(
    target: SqliteTarget | PostgresTarget, members: int, checkins: int, runs: int
) -> None:
    db = await prepare(target, members, checkins)
    if isinstance(target, PostgresTarget):
        settings = Settings(_env_file=None, database_url=target.dsn)
    else:
        settings = Settings(_env_file=None, database_path=target.path)
    clock = FixedClock(NOW)
    services = build_services(settings, db, clock)
    roadmap = services.roadmap
    try:
        total = await db.fetch_value("SELECT count(*) FROM roadmap_checkins")
        people = await db.fetch_value("SELECT count(*) FROM roadmap_members")
        print(f"{db.engine}: {people:,} members, {total:,} check-ins, {await size_mb(db):.0f} MB")
        rng = random.Random(1)
        users = [FIRST_USER + rng.randrange(people) for _ in range(runs * 3)]

        # Check-in writes: one service call each, committed, one after another.
        writes = len(users)
        started = time.perf_counter()
        for user in users:
            await roadmap.checkins.checkin(GUILD, user, "benchmark check-in", "30")
        rate = writes / (time.perf_counter() - started)
        print(
            f"check-in writes: {rate:,.0f}/s sequential, committed "
            f"(target >= {TARGETS['writes']:,.0f}/s: {verdict('writes', rate, True)})"
        )
        # Ten members at once (ten different members: one member's check-ins queue on
        # their own lock), as many as the PostgreSQL pool has connections.
        queue = [FIRST_USER + rng.randrange(people) for _ in range(runs * 3)]

        async def worker(mine: list[int]) -> None:
            for user in mine:
                await roadmap.checkins.checkin(GUILD, user, "benchmark check-in", "30")

        started = time.perf_counter()
        await asyncio.gather(*(worker(queue[n::CONCURRENCY]) for n in range(CONCURRENCY)))
        rate = len(queue) / (time.perf_counter() - started)
        print(
            f"check-in writes: {rate:,.0f}/s with {CONCURRENCY} at once, committed "
            f"(target >= {TARGETS['writes']:,.0f}/s: {verdict('writes', rate, True)})"
        )

        boards = [(b, p) for b in Board for p in Period]

        async def leaderboard() -> None:
            board, period = rng.choice(boards)
            await roadmap.leaderboard.page(GUILD, board, period, rng.randint(1, 5))

        p50, p99 = percentiles(await timed(leaderboard, runs))
        print(
            f"/leaderboard query: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"(target p99 < 10 ms: {verdict('leaderboard', p99)})"
        )

        async def streak() -> None:
            await roadmap.checkins.streak(GUILD, FIRST_USER + rng.randrange(people))

        p50, p99 = percentiles(await timed(streak, runs))
        print(
            f"/streak query: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"(target p99 < 10 ms: {verdict('streak', p99)})"
        )

        # As the scheduler job does: each minute, find who is due, then record each sent.
        # (From the first reminder still scheduled, so a reused database measures the same.)
        first = from_db_time(
            await db.fetch_value("SELECT min(remind_next_at) FROM roadmap_members")
        )
        found, samples = [], []
        for minute in range(min(runs, 600)):
            clock.set(max(NOW, first) + timedelta(minutes=minute))
            started = time.perf_counter()
            due = await roadmap.reminders.due(clock.now(), 1000)
            samples.append(time.perf_counter() - started)
            found.append(len(due))
            for reminder in due:
                await roadmap.reminders.finish(reminder, delivered_by_dm=True)
        p50, p99 = percentiles(samples)
        print(
            f"due reminders in a minute ({statistics.mean(found):.0f} members on average): "
            f"p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"(target p99 < 50 ms: {verdict('reminders', p99)})"
        )

        view = await roadmap.checkins.streak(GUILD, users[0])
        heat = []
        for _ in range(runs):
            started = time.perf_counter()
            heatmap_png(view.heatmap, view.today, 26)
            heat.append(time.perf_counter() - started)
        p50, p99 = percentiles(heat)
        print(
            f"heatmap render: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
            f"(target < 50 ms: {verdict('heatmap', p99)})"
        )
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="SQLite file to seed once and reuse")
    parser.add_argument(
        "--database-url", help="postgresql://... (an empty database, seeded once) or sqlite:///"
    )
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--checkins", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=1000, help="samples per query figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or os.environ.get("BENCH_DATABASE_URL")
        if url:
            target = parse_database_url(url)
        else:
            target = SqliteTarget(args.db or Path(folder) / "roadmap.db")
        if isinstance(target, PostgresTarget):
            TARGETS["writes"] = 1500.0  # with a pool of 10
        asyncio.run(run(target, args.members, args.checkins, args.runs))


if __name__ == "__main__":
    main()
