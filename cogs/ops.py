"""Operations jobs: the daily database backup."""

from __future__ import annotations

import logging
from datetime import datetime

from discord.ext import commands

from bot.app import MentorBot
from bot.parts import Parts
from bot.scheduler import Job
from bot.services.backups import BackupError

log = logging.getLogger(__name__)


class OpsJobs:
    def __init__(self, bot: MentorBot) -> None:
        self.backups = bot.services.backups

    def jobs(self) -> dict[str, Job]:
        return {"ops:daily-backup": self.daily_backup}

    async def daily_backup(self, now: datetime) -> None:
        try:
            await self.backups.run_daily(now)
        except BackupError as exc:
            # The service waits an hour before trying again, so this is logged that often.
            log.error("Daily backup failed: %s", exc)


class OpsCog(commands.Cog):
    def __init__(self, bot: MentorBot) -> None:
        self.bot = bot
        self.parts = Parts(cluster_jobs=OpsJobs(bot).jobs())  # one backup for the cluster

    async def cog_load(self) -> None:
        self.bot.add_parts(self.parts)

    async def cog_unload(self) -> None:
        self.bot.remove_parts(self.parts)


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(OpsCog(bot))
