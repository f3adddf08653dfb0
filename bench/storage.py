"""Every storage figure on both engines, in one run, side by side.

Runs, for SQLite (scratch files) and then PostgreSQL (a fresh database per benchmark):
bench.roadmap (check-in writes, one after another and ten at once, with 50,000 members and
2,000,000 check-ins present; leaderboard, streak and due-reminder p99), bench.interactions
--checkin (the /checkin to /ping ratio through the simulator), bench.qa (retrieval p99
over 10,000 passages), bench.qa_eval (recall@3) and bench.startup with 2,000,000
check-ins; then prints a table. Each benchmark runs in its own process, one at a time.

    python -m bench.storage                       # a throwaway PostgreSQL cluster
    python -m bench.storage --postgres postgresql://user:pw@host/postgres
                                                  # a server where the user may create databases

The throwaway cluster uses the machine's binaries (as the tests do) with PostgreSQL's
default durability: fsync on, synchronous_commit on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.engine import postgres_server

# (label, module arguments, [(figure, regular expression on the output)])
BENCHMARKS: list[tuple[str, list[str], list[tuple[str, str]]]] = [
    (
        "roadmap",
        ["bench.roadmap"],
        [
            ("check-in writes/s, one after another", r"([\d,]+)/s sequential"),
            ("check-in writes/s, 10 at once", r"([\d,]+)/s with 10 at once"),
            ("/leaderboard p99 (ms)", r"/leaderboard query: .*p99 ([\d.]+) ms"),
            ("/streak p99 (ms)", r"/streak query: .*p99 ([\d.]+) ms"),
            ("due reminders p99 (ms)", r"due reminders .*p99 ([\d.]+) ms"),
        ],
    ),
    (
        "interactions",
        ["bench.interactions", "--checkin"],
        [
            ("/checkin throughput, % of /ping", r"throughput: (\d+)% of /ping"),
            (
                "/checkin p99 at 100/s (ms)",
                r"/checkin.*\(at 100/s\)\s+\S+\s+[\d.]+ ms\s+([\d.]+) ms",
            ),
        ],
    ),
    (
        "qa",
        ["bench.qa"],
        [("retrieval p99 over 10,000 passages (ms)", r"full-text retrieval .*?p99 ([\d.]+) ms")],
    ),
    (
        "qa_eval",
        ["bench.qa_eval", "--no-embeddings"],
        [("recall@3 (54 questions)", r"\+ query understanding\s+([\d.]+)")],
    ),
    (
        "startup",
        ["bench.startup", "--seed-checkins", "2000000", "--runs", "3"],
        [("start-up to READY with 2,000,000 check-ins (s)", r"READY after ([\d.]+) s")],
    ),
]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


async def fresh_database(admin_url: str, name: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    return with_database(admin_url, name)


LOG_DIR = Path(tempfile.gettempdir()) / "mentor-bench-storage"


def run(module_args: list[str], env: dict[str, str], log: Path) -> str:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", *module_args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    log.write_text(output)
    took = time.perf_counter() - started
    print(
        f"  {' '.join(module_args)}: {took:.0f} s (exit {result.returncode}; output in {log})",
        flush=True,
    )
    if result.returncode != 0:
        print(output[-2000:], file=sys.stderr)
    return output


def figures(output: str, patterns: list[tuple[str, str]]) -> dict[str, str]:
    found = {}
    for label, pattern in patterns:
        values = re.findall(pattern, output)
        found[label] = ", ".join(values) if values else "?"
    return found


def measure(engine: str, admin_url: str | None) -> dict[str, str]:
    print(f"{engine}:", flush=True)
    LOG_DIR.mkdir(exist_ok=True)
    results: dict[str, str] = {}
    for name, module_args, patterns in BENCHMARKS:
        env = {k: v for k, v in os.environ.items() if k != "BENCH_DATABASE_URL"}
        if admin_url is not None:
            env["BENCH_DATABASE_URL"] = asyncio.run(fresh_database(admin_url, f"bench_{name}"))
        log = LOG_DIR / f"{engine}-{name}.txt"
        results.update(figures(run(module_args, env, log), patterns))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="postgresql://... of a database on the server")
    args = parser.parse_args()
    with postgres_server(args.postgres) as admin_url:
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        sqlite = measure("sqlite", None)
        postgres = measure("postgres", admin_url)
    print("\n| Figure | SQLite | PostgreSQL (pool of 10) |\n| --- | --- | --- |")
    for label in sqlite:
        print(f"| {label} | {sqlite[label]} | {postgres[label]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
