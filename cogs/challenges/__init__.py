"""Challenges: a daily quiz or task posted on schedule, weekly challenges that moderators
run, the challenge bank, submissions and their review, points and leaderboards."""

from __future__ import annotations

from bot.app import MentorBot
from cogs.challenges._cog import ChallengesCog


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(ChallengesCog(bot))
