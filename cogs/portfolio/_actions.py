"""What the buttons on a request's post do (claim, unclaim, review, withdraw, rate), and
the withdrawal's confirmation. Each action: work out who is acting, make ONE service call,
show the new state on the post, and answer the member. `/portfolio withdraw` uses it too.
"""

from __future__ import annotations

import discord

from bot.app import MentorBot
from bot.markdown import clip_escaped
from bot.services.portfolio.models import Request
from bot.ui.confirm import Confirmation, confirm_view
from bot.ui.replies import reply
from cogs.portfolio._embeds import duration
from cogs.portfolio._forms import RateModal, ReviewModal
from cogs.portfolio._notices import PortfolioNotices
from cogs.portfolio._publisher import Publisher
from cogs.portfolio._sent import actor

WITHDRAW = "portfolio-withdraw"


class Actions:
    """The cog's; its buttons find it as their `PostActions` (cogs/portfolio/_views.py)."""

    def __init__(self, bot: MentorBot, publisher: Publisher) -> None:
        self.bot = bot
        self.publisher = publisher
        self.confirmation = Confirmation(WITHDRAW, self.withdraw)
        self.portfolio = bot.services.portfolio
        self.rubric = bot.services.portfolio.rubric

    async def run(self, action: str, interaction: discord.Interaction, request_id: int) -> None:
        handler = {
            "claim": self.claim,
            "unclaim": self.unclaim,
            "review": self.open_review,
            "withdraw": self.ask_withdraw,
            "rate": self.open_rating,
        }[action]
        await handler(interaction, request_id)

    async def show(self, interaction: discord.Interaction, request: Request) -> None:
        """Show the new state: edit the clicked post in the response when it is the post."""
        clicked = interaction.message
        if (
            clicked is not None
            and request.message_id == clicked.id
            and not interaction.response.is_done()
        ):
            embed, view = await self.publisher.render(request)
            await interaction.response.edit_message(embed=embed, view=view)
            await self.publisher.synced(request)
        else:
            await self.publisher.refresh(request)

    # --- Buttons ----------------------------------------------------------------

    async def claim(self, interaction: discord.Interaction, request_id: int) -> None:
        actor_ = await actor(interaction)
        moved = await self.portfolio.claim(interaction.guild_id, request_id, actor_)
        await self.show(interaction, moved.request)
        days = duration(self.portfolio.rules.return_after)
        await reply(
            interaction,
            f"You claimed request #{request_id}. Read it, then press **Submit review** on the "
            f"post. If there is no review within {days}, it goes back to the queue; press "
            "**Unclaim** if you can't do it after all.",
        )

    async def unclaim(self, interaction: discord.Interaction, request_id: int) -> None:
        actor_ = await actor(interaction)
        moved = await self.portfolio.unclaim(interaction.guild_id, request_id, actor_)
        await self.show(interaction, moved.request)
        await reply(interaction, f"Request #{request_id} is back in the queue.")

    async def open_review(self, interaction: discord.Interaction, request_id: int) -> None:
        actor_ = await actor(interaction)
        request = await self.portfolio.ensure_can_review(interaction.guild_id, request_id, actor_)
        await ReviewModal(self.rubric.score_order, request).send_to(interaction)

    async def open_rating(self, interaction: discord.Interaction, request_id: int) -> None:
        actor_ = await actor(interaction)
        await self.portfolio.ensure_can_rate(interaction.guild_id, request_id, actor_)
        request = await self.portfolio.get(interaction.guild_id, request_id)
        await RateModal(request).send_to(interaction)

    async def ask_withdraw(self, interaction: discord.Interaction, request_id: int) -> None:
        actor_ = await actor(interaction)
        request = await self.portfolio.ensure_can_withdraw(interaction.guild_id, request_id, actor_)

        view = confirm_view(WITHDRAW, actor_.user_id, "Withdraw", request_id)
        await reply(
            interaction,
            f"Withdraw request #{request.id} ({clip_escaped(request.title, 300)})? Reviewers "
            "will no longer see it "
            "in the queue. You can ask again later with /portfolio submit.",
            view=view,
        )

    async def withdraw(self, interaction: discord.Interaction, request_id: int | None) -> None:
        """The owner confirmed the withdrawal (see `ask_withdraw`)."""
        if request_id is None:
            raise ValueError("a withdrawal needs its request")
        actor_ = await actor(interaction)
        moved = await self.portfolio.withdraw(interaction.guild_id, request_id, actor_)
        await interaction.response.edit_message(
            content=f"Request #{request_id} is withdrawn.", view=None
        )
        await self.publisher.refresh(moved.request)
        await PortfolioNotices(self.publisher.bot, self.publisher).send(moved.notices)
