"""What other capabilities may ask of Q&A: answering a question for a member who pressed a
button elsewhere (the roadmap's "Ask Mentor" under a check-in's blocker).

The Q&A cog shares its `Asker` while it is loaded (`bot.shared`, bot/parts.py); a button
that finds none answers that /ask is not available.
"""

from __future__ import annotations

from typing import Protocol

import discord


class Asker(Protocol):
    async def ask_privately(self, interaction: discord.Interaction, question: str) -> None:
        """Answer `question` for `interaction`'s member, privately; errors are answered too."""
        ...
