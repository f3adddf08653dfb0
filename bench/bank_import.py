"""Benchmark: event-loop time of `/challenge bank import` for a file near the 256 KB limit.

Parsing and validating an imported bank runs on the event loop, so its time is time every
other member waits. The file is JSON with small task entries (the worst case for locating
entries: many of them), imported through the real service on a real SQLite file, once
valid (every entry stored) and once with a mistake in every entry (every error names its
line). Each figure is the best of --rounds runs.

Usage: python bench/bank_import.py [--kb 252] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import open_database
from bot.errors import DomainError
from bot.wiring import build_services


def bank_file(target_bytes: int, broken: bool) -> bytes:
    """A JSON bank of small tasks, as many as fit in `target_bytes`."""

    def dump(count: int) -> bytes:
        entries = [
            {
                "id": f"task-{n:05d}",
                "title": f"Task {n}",
                "kind": "task",
                "phase": "foundations",
                "topic": "astrology" if broken else "python",
                "difficulty": "easy",
                "prompt": "Reverse a list in place.",
                "hint": "Two indices.",
            }
            for n in range(count)
        ]
        return json.dumps({"challenges": entries}, indent=2).encode()

    per_entry = len(dump(100)) / 100
    count = int(target_bytes / per_entry)
    while len(dump(count)) > target_bytes:
        count -= 1
    return dump(count)


async def measure(data: bytes, rounds: int) -> tuple[float, str]:
    best, outcome = float("inf"), ""
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                _env_file=None,
                database_path=Path(folder) / "bench.db",
                challenge_import_max_bytes=262_144,
                challenge_custom_max=10_000,
            )
            db = await open_database(settings.database_path)
            try:
                clock = FixedClock(datetime(2026, 3, 2, 10, tzinfo=UTC))
                bank = build_services(settings, db, clock).challenges.bank
                started = time.perf_counter()
                try:
                    added = await bank.import_file(1, 2, "bank.json", data)
                    outcome = f"{len(added)} challenges stored"
                except DomainError as error:
                    outcome = f"refused, {error.message.count(chr(10))} errors listed"
                best = min(best, time.perf_counter() - started)
            finally:
                await db.close()
    return best, outcome


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=252)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for broken in (False, True):
        data = bank_file(args.kb * 1024, broken)
        entries = data.count(b'"id"')
        seconds, outcome = await measure(data, args.rounds)
        kind = "every entry wrong" if broken else "valid"
        print(
            f"{kind:>17}: {len(data) / 1024:.0f} KB, {entries} entries: "
            f"{seconds * 1000:.0f} ms ({outcome})"
        )


if __name__ == "__main__":
    asyncio.run(main())
