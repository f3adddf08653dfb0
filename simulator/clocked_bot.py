"""`python -m simulator.clocked_bot FOLDER`: `python -m bot run` on a clock set by another
process, for the chaos test (simulator/chaos.py).

The bot is the real one, built and served by the composition root's own `create_bot` and
`serve`. Two things differ: its clock is a file in FOLDER that the test moves forward
(`SharedClock`), and after each scheduler tick it writes the instant of that tick to another
file there, so the test knows when everything due at that instant has been handled.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.__main__ import close_bot, create_bot, serve
from bot.config import Settings, load_settings
from bot.logs import configure_logging
from bot.runlock import RunLock

CLOCK_FILE = "clock.txt"
TICK_FILE = "ticked.txt"
TICK_SECONDS = 0.05  # how often the scheduler looks at the (file) clock
GUILD_READY_SECONDS = 0.05  # discord.py's wait for more servers after READY


class SharedClock:
    """A clock another process sets by writing an ISO instant to a file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, datetime] | None = None

    def now(self) -> datetime:
        changed = self.path.stat().st_mtime_ns
        if self._seen is None or self._seen[0] != changed:
            self._seen = (changed, datetime.fromisoformat(self.path.read_text().strip()))
        return self._seen[1]

    def set(self, when: datetime) -> None:
        """Move the clock (the test's side): written whole, then renamed into place."""
        partial = self.path.with_suffix(".partial")
        partial.write_text(when.astimezone(UTC).isoformat())
        partial.replace(self.path)


def read_tick(folder: Path) -> datetime | None:
    """The instant of the bot's last finished scheduler tick, if any."""
    try:
        return datetime.fromisoformat((folder / TICK_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


async def run(settings: Settings, folder: Path) -> None:
    token = settings.require_token()
    with RunLock(settings.database_path, "the bot is running"):
        bot = await create_bot(
            settings,
            clock=SharedClock(folder / CLOCK_FILE),
            guild_ready_timeout=GUILD_READY_SECONDS,
        )
        scheduler = bot.services.scheduler
        scheduler.interval_seconds = TICK_SECONDS

        async def ticked(now: datetime) -> None:
            await asyncio.to_thread((folder / TICK_FILE).write_text, now.isoformat())

        async def report_ticks() -> None:
            # Added once every cog has added its jobs, so it runs last in each tick.
            scheduler.add_job("simulator:ticked", ticked)

        bot.add_listener(report_ticks, "on_ready")
        try:
            await serve(bot, token)
        finally:
            await close_bot(bot)


def main(argv: list[str]) -> int:
    folder = Path(argv[1])
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    asyncio.run(run(settings, folder))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
