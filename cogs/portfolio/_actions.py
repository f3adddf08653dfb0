"""What happens when a member presses a button on a request or sends one of its forms.

Each action: work out who is acting, make ONE service call, show the new state on the
post, and answer the member. Used by the persistent buttons and the slash commands alike.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.markdown import clip_escaped
from bot.services.portfolio.drafts import RequestDraft, ResubmitDraft, ReviewDraft
from bot.services.portfolio.models import Actor, Request, Status
from bot.ui.checks import member_is_moderator, member_is_reviewer, settings_for
from bot.ui.confirm import Confirmation, confirm_view
from bot.ui.replies import ping_only, reply
from cogs.portfolio._embeds import duration, jump_url, review_embed
from cogs.portfolio._modals import RateModal, ReviewModal
from cogs.portfolio._publisher import Publisher

if TYPE_CHECKING:
    from bot.app import MentorBot

log = logging.getLogger(__name__)

WITHDRAW = "portfolio-withdraw"


def link_or_number(request: Request) -> str:
    link = jump_url(request)
    return f"[#{request.id}]({link})" if link else f"#{request.id}"


class Actions:
    def __init__(self, bot: MentorBot, publisher: Publisher) -> None:
        self.bot = bot
        self.publisher = publisher
        self.confirmation = Confirmation(WITHDRAW, self.withdraw)
        self.portfolio = bot.services.portfolio
        self.rubric = bot.services.portfolio.rubric

    async def actor(self, interaction: discord.Interaction) -> Actor:
        settings = await settings_for(interaction)
        member = interaction.user
        if not isinstance(member, discord.Member):
            raise app_commands.NoPrivateMessage()
        return Actor(
            member.id,
            is_reviewer=member_is_reviewer(member, settings),
            is_moderator=member_is_moderator(member, settings),
        )

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
        actor = await self.actor(interaction)
        moved = await self.portfolio.claim(interaction.guild_id, request_id, actor)
        await self.show(interaction, moved.request)
        days = duration(self.portfolio.rules.return_after)
        await reply(
            interaction,
            f"You claimed request #{request_id}. Read it, then press **Submit review** on the "
            f"post. If there is no review within {days}, it goes back to the queue; press "
            "**Unclaim** if you can't do it after all.",
        )

    async def unclaim(self, interaction: discord.Interaction, request_id: int) -> None:
        actor = await self.actor(interaction)
        moved = await self.portfolio.unclaim(interaction.guild_id, request_id, actor)
        await self.show(interaction, moved.request)
        await reply(interaction, f"Request #{request_id} is back in the queue.")

    async def open_review(self, interaction: discord.Interaction, request_id: int) -> None:
        actor = await self.actor(interaction)
        request = await self.portfolio.ensure_can_review(interaction.guild_id, request_id, actor)
        await ReviewModal(self.rubric.score_order, request).send_to(interaction)

    async def open_rating(self, interaction: discord.Interaction, request_id: int) -> None:
        actor = await self.actor(interaction)
        await self.portfolio.ensure_can_rate(interaction.guild_id, request_id, actor)
        request = await self.portfolio.get(interaction.guild_id, request_id)
        await RateModal(request).send_to(interaction)

    async def ask_withdraw(self, interaction: discord.Interaction, request_id: int) -> None:
        actor = await self.actor(interaction)
        request = await self.portfolio.ensure_can_withdraw(interaction.guild_id, request_id, actor)

        view = confirm_view(WITHDRAW, actor.user_id, "Withdraw", request_id)
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
        actor = await self.actor(interaction)
        moved = await self.portfolio.withdraw(interaction.guild_id, request_id, actor)
        await interaction.response.edit_message(
            content=f"Request #{request_id} is withdrawn.", view=None
        )
        await self.publisher.refresh(moved.request)
        if moved.previous_reviewer_id:
            await self.publisher.dm_quietly(
                moved.previous_reviewer_id,
                content=f"Request #{request_id} that you claimed was withdrawn by its owner; "
                "no review is needed any more.",
            )

    # --- Forms ------------------------------------------------------------------

    async def finish_submit(self, interaction: discord.Interaction, draft: RequestDraft) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        request = await self.portfolio.submit(interaction.guild_id, interaction.user.id, draft)
        await self._publish_or_discard(interaction, request)

    async def finish_resubmit(
        self, interaction: discord.Interaction, previous_id: int, draft: ResubmitDraft
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        request = await self.portfolio.resubmit(
            interaction.guild_id, interaction.user.id, previous_id, draft
        )
        await self._publish_or_discard(interaction, request)

    async def _publish_or_discard(self, interaction: discord.Interaction, request: Request) -> None:
        try:
            posted = await self.publisher.publish(request)
        except BaseException:
            await self.portfolio.discard_unposted(request.guild_id, request.id)
            raise
        queue = await self.portfolio.queue(posted.guild_id)
        position = next((e.position for e in queue.entries if e.request.id == posted.id), None)
        where = f" It is number {position} in the queue." if position else ""
        if posted.credit_reviews:
            where += " It moved up because you reviewed others' projects recently."
        await reply(
            interaction,
            f"Your request {link_or_number(posted)} is posted.{where} A reviewer will claim "
            "it; you'll get a DM when the review is in.",
        )

    async def finish_review(
        self, interaction: discord.Interaction, request_id: int, draft: ReviewDraft
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        actor = await self.actor(interaction)
        outcome = await self.portfolio.submit_review(interaction.guild_id, request_id, actor, draft)
        request, review = outcome.request, outcome.review
        await self.publisher.refresh(request)
        posted = await self.publisher.post_review(request, review)
        told = await self.publisher.dm_quietly(
            request.owner_id,
            content=f"Your portfolio project got a review: request {link_or_number(request)}. "
            "Rate how helpful it was with the button under the review.",
            embed=review_embed(request, review, self.rubric),
        )
        if not told and posted is not None:
            await self.publisher.in_thread(
                request,
                content=f"<@{request.owner_id}> your review is in (I couldn't DM you).",
                allowed_mentions=ping_only(request.owner_id),
            )
        if posted is None:
            reached = (
                "the owner got it by DM." if told else "the owner can read it with /portfolio view."
            )
            where = (
                f"The request's thread is gone, so the review is saved but not posted; {reached}"
            )
        else:
            where = "It is posted in the request's thread" + (
                " and the owner got a DM." if told else "; the owner was mentioned there."
            )
        await reply(interaction, f"Thank you! Your review of #{request_id} is saved. {where}")

    async def finish_rating(
        self,
        interaction: discord.Interaction,
        request_id: int,
        helpful: int,
        comment: str | None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        actor = await self.actor(interaction)
        outcome = await self.portfolio.rate(
            interaction.guild_id, request_id, actor, helpful, comment
        )
        await self.publisher.refresh(outcome.request)
        await self.publisher.refresh_review(outcome.request, outcome.review)
        await self.publisher.dm_quietly(
            outcome.review.reviewer_id,
            content=f"The owner of request #{request_id} rated your review {helpful}/5 "
            "for helpfulness. Thank you for reviewing!",
        )
        follow_up = (
            " When you have worked on it, /portfolio resubmit opens the next round."
            if outcome.request.status is Status.REVIEWED
            else ""
        )
        await reply(interaction, f"Thanks: you rated the review {helpful}/5.{follow_up}")
