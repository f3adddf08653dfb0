"""Roadmap check-ins and accountability streaks: the Discord side.

Commands: /roadmap, /checkin, /streak, /leaderboard, /buddy, /remind, /profile; the
scheduled reminders, nudges, weekly digest and role sync (`RoadmapCog` adds the buttons,
forms and jobs when it loads).
"""

from __future__ import annotations

from bot.app import MentorBot
from cogs.roadmap._checkin_cog import CheckinCog
from cogs.roadmap._roadmap_cog import RoadmapCog
from cogs.roadmap._social_cog import SocialCog


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(RoadmapCog(bot))
    await bot.add_cog(CheckinCog(bot))
    await bot.add_cog(SocialCog(bot))
