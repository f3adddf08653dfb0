"""The chaos day, short: the bot SIGKILLed and restarted at random points of a scripted day.

bench/chaos.py runs the long version (many restarts, several days). Here one day with a few
restarts, from a fixed seed so a failure replays; set CHAOS_SEED to try another. The seed is
printed and is in the failure message. It runs on the engine under test: a SQLite file, or
(TEST_DATABASE=postgres) an empty PostgreSQL database, where amcheck, foreign-key and CHECK
queries stand in for integrity_check (simulator/integrity.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from simulator.chaos import run_chaos_day

SEED = int(os.environ.get("CHAOS_SEED", "20260309"))
RESTARTS = 6


async def test_a_day_of_random_sigkills_loses_nothing_and_posts_everything_once(
    tmp_path: Path, empty_database_url: str | None
) -> None:
    print(f"chaos seed {SEED} (replay with CHAOS_SEED={SEED})")
    report = await run_chaos_day(tmp_path, SEED, RESTARTS, empty_database_url)
    print(report.summary())
    assert report.ok, f"CHAOS_SEED={SEED}: {report.summary()}"
    assert report.restarts >= 2, report.summary()  # the forced one and at least one random
    assert report.posts_sent == report.posts_expected == 7
    assert report.forms_across_restart >= 1 and report.writes_acknowledged >= 6
    # The day ran on the engine under test: no SQLite file when it was PostgreSQL.
    assert (tmp_path / "mentor.db").exists() == (empty_database_url is None)
