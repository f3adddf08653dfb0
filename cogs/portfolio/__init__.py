"""Portfolio reviews: members ask for a review of a project, reviewers claim and review it
in its thread, owners rate the review; nudges, reminders and expiry run on the scheduler."""

from __future__ import annotations

from bot.app import MentorBot
from cogs.portfolio._cog import PortfolioCog


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(PortfolioCog(bot))
