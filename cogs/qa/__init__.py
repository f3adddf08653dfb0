"""Q&A: /ask, the knowledge base (/kb) and the moderators' usage and limits (/qa)."""

from __future__ import annotations

from bot.app import MentorBot
from cogs.qa._ask_cog import AskCog
from cogs.qa._kb_cog import KbCog, QAAdminCog


async def setup(bot: MentorBot) -> None:
    await bot.add_cog(AskCog(bot))
    await bot.add_cog(KbCog(bot))
    await bot.add_cog(QAAdminCog(bot))
