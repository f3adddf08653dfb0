"""The README's test command: the whole suite on SQLite, then on PostgreSQL when there is one.

    python -m tests [--require-postgres] [pytest options]

PostgreSQL is the machine's own binaries (a throwaway cluster the suite starts: see
tests/pgcluster.py) or the server TEST_DATABASE_URL names. Without either, the PostgreSQL
run is skipped with one line, so a laptop without PostgreSQL still runs the tests;
`--require-postgres` (CI) fails instead.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.pgcluster import INSTALL_HINT, find_binaries


def run_suite(engine: str, options: list[str]) -> int:
    env = {**os.environ, "TEST_DATABASE": engine}
    print(f"--- the test suite on {engine} ---", flush=True)
    return subprocess.run(
        [sys.executable, "-m", "pytest", *options], env=env, check=False
    ).returncode


def main(argv: list[str]) -> int:
    require = "--require-postgres" in argv
    options = [a for a in argv if a != "--require-postgres"]
    status = run_suite("sqlite", options)
    if status != 0:
        return status
    if not os.environ.get("TEST_DATABASE_URL") and find_binaries() is None:
        if require:
            print(f"error: {INSTALL_HINT}", file=sys.stderr)
            return 2
        print("PostgreSQL not found (no initdb/pg_ctl, no TEST_DATABASE_URL): ran on SQLite only.")
        return 0
    return run_suite("postgres", options)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
