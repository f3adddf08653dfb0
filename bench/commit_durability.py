"""What `PRAGMA synchronous = FULL` costs per commit, against NORMAL, on this disk.

Run from the repository root: `python -m bench.commit_durability [COMMITS]`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bot.db import open_database


async def commits_per_second(folder: Path, mode: str, count: int) -> float:
    db = await open_database(folder / f"{mode.lower()}.db", mode.lower())
    try:
        started = time.perf_counter()
        for guild_id in range(count):
            await db.execute(
                "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, 'bench')",
                (guild_id,),
            )
        return count / (time.perf_counter() - started)
    finally:
        await db.close()


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory(dir=".") as folder:
        for mode in ("NORMAL", "FULL"):
            rate = await commits_per_second(Path(folder), mode, count)
            print(f"synchronous={mode}: {rate:,.0f} commits/s ({1000 / rate:.2f} ms each)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
