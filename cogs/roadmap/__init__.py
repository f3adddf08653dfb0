"""Roadmap check-ins and accountability streaks: the Discord side.

Commands: /roadmap, /checkin, /streak, /leaderboard, /buddy, /remind, /profile; the
scheduled reminders, nudges, weekly digest and role sync.
"""

from __future__ import annotations

from bot.app import MentorBot
from cogs.roadmap._checkin_cog import CheckinCog
from cogs.roadmap._jobs import RoadmapJobs
from cogs.roadmap._roadmap_cog import RoadmapCog
from cogs.roadmap._social_cog import SocialCog
from cogs.roadmap._views import FORMS, LEAVE_CONFIRMATION, BlockerButton, LeaderboardButton


async def setup(bot: MentorBot) -> None:
    bot.add_dynamic_items(BlockerButton, LeaderboardButton)
    bot.forms.add(*FORMS)
    bot.confirmations.add(LEAVE_CONFIRMATION)
    await bot.add_cog(RoadmapCog(bot))
    await bot.add_cog(CheckinCog(bot))
    await bot.add_cog(SocialCog(bot))
    await bot.add_cog(RoadmapJobs(bot))


async def teardown(bot: MentorBot) -> None:
    bot.remove_dynamic_items(BlockerButton, LeaderboardButton)
    bot.forms.remove(*FORMS)
    bot.confirmations.remove(LEAVE_CONFIRMATION.name)
