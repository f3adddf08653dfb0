"""Operations jobs: the daily database backup."""

from __future__ import annotations

import logging
from datetime import datetime

from discord.ext import commands

from bot.app import MentorBot
from bot.services.backups import BackupError

log = logging.getLogger(__name__)


class OpsCog(commands.Cog):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.services.scheduler.add_job("ops:daily-backup", self._daily_backup)

    async def cog_unload(self) -> None:
        self.bot.services.scheduler.remove_job("ops:daily-backup")

    async def _daily_backup(self, now: datetime) -> None:
        try:
            await self.bot.services.backups.run_daily(now)
        except BackupError as exc:
            # The service waits an hour before trying again, so this is logged that often.
            log.error("Daily backup failed: %s", exc)


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(OpsCog(bot))
