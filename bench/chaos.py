"""Chaos: a scripted day of a server with the bot SIGKILLed and restarted at random points.

Each day (simulator/chaos.py) has check-ins, quiz answers, a check-in form left open
across a restart, a weekly challenge submission, the weekly challenge's start and results,
the weekly digest, the review-queue nudge, the daily challenge and reminders. The bot runs
in its own process on a clock the driver moves; at random steps it is killed between two
scheduler ticks, or right after Discord did what it asked and before it heard the answer.
Printed per day and in total: restarts survived; posts expected, sent and duplicated; forms
submitted across a restart and answered; acknowledged writes and any lost; integrity.

    python -m bench.chaos                       # 3 days, 40 restarts each, random seeds
    python -m bench.chaos --seed 1234 --days 1  # replay one day
    python -m bench.chaos --postgres            # on PostgreSQL: a throwaway cluster, a
                                                # new database each day (tests/pgcluster.py)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from simulator.chaos import ChaosReport, run_chaos_day
from tests import pgcluster


async def main(args: argparse.Namespace) -> int:
    if not args.postgres:
        return await days(args, None)
    binaries = pgcluster.find_binaries()
    if binaries is None:
        print(pgcluster.INSTALL_HINT, file=sys.stderr)
        return 2
    cluster = pgcluster.Cluster(binaries)
    try:
        return await days(args, pgcluster.TestServer(cluster.start()))
    finally:
        cluster.stop()


async def days(args: argparse.Namespace, server: pgcluster.TestServer | None) -> int:
    seeds = [args.seed] if args.seed is not None else []
    seeds += [random.randrange(1_000_000) for _ in range(args.days - len(seeds))]
    reports: list[ChaosReport] = []
    for seed in seeds:
        print(f"day with seed {seed} ({args.restarts} restarts planned)...", flush=True)
        started = time.perf_counter()
        url = await server.create(migrated=False) if server else None
        with tempfile.TemporaryDirectory() as folder:
            report = await run_chaos_day(Path(folder), seed, args.restarts, url)
        if server and url:
            await server.drop(url)
        print(f"  {report.summary()}")
        print(f"  {'OK' if report.ok else 'FAILED'} in {time.perf_counter() - started:.0f} s")
        reports.append(report)
    total = ChaosReport(seed=-1)
    for r in reports:
        total.restarts += r.restarts
        total.kills_mid_call += r.kills_mid_call
        total.posts_expected += r.posts_expected
        total.posts_sent += r.posts_sent
        total.posts_duplicated += r.posts_duplicated
        total.forms_across_restart += r.forms_across_restart
        total.forms_answered += r.forms_answered
        total.writes_acknowledged += r.writes_acknowledged
        total.writes_lost += r.writes_lost
    failed = [r.seed for r in reports if not r.ok]
    print(
        f"total over {len(reports)} days (seeds {', '.join(str(r.seed) for r in reports)}): "
        f"restarts survived {total.restarts} ({total.kills_mid_call} between Discord's work "
        f"and its answer); posts expected {total.posts_expected}, sent {total.posts_sent}, "
        f"duplicated {total.posts_duplicated}; forms submitted across a restart "
        f"{total.forms_across_restart}, answered {total.forms_answered}; acknowledged writes "
        f"{total.writes_acknowledged}, lost {len(total.writes_lost)}; "
        f"failed days: {failed or 'none'}"
    )
    return 1 if failed else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3, help="scripted days to run")
    parser.add_argument("--restarts", type=int, default=40, help="restarts planned per day")
    parser.add_argument("--seed", type=int, help="the first day's seed (to replay a failure)")
    parser.add_argument("--postgres", action="store_true", help="run on PostgreSQL")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
