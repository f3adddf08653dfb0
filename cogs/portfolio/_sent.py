"""What a sent portfolio form does: publish a request, record a review or a rating, show
the new state on the post, and tell the people concerned. The forms (cogs/portfolio/
_forms.py) parse what was typed and call these."""

from __future__ import annotations

import discord
from discord import app_commands

from bot.app import bot_of
from bot.delivery import Delivered, Outcome
from bot.services.portfolio.drafts import RequestDraft, ResubmitDraft, ReviewDraft
from bot.services.portfolio.models import Actor, Request, Status
from bot.services.portfolio.notices import REVIEW_DM_KIND, REVIEW_KIND
from bot.ui.checks import member_is_moderator, member_is_reviewer, settings_for
from bot.ui.replies import reply
from cogs.portfolio._embeds import jump_url
from cogs.portfolio._notices import PortfolioNotices
from cogs.portfolio._publisher import Publisher


async def actor(interaction: discord.Interaction) -> Actor:
    """Who is acting, with the rights they hold in this server now."""
    settings = await settings_for(interaction)
    member = interaction.user
    if not isinstance(member, discord.Member):
        raise app_commands.NoPrivateMessage()
    return Actor(
        member.id,
        is_reviewer=member_is_reviewer(member, settings),
        is_moderator=member_is_moderator(member, settings),
    )


def link_or_number(request: Request) -> str:
    link = jump_url(request)
    return f"[#{request.id}]({link})" if link else f"#{request.id}"


async def finish_submit(interaction: discord.Interaction, draft: RequestDraft) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    portfolio = bot_of(interaction).services.portfolio
    request = await portfolio.submit(interaction.guild_id, interaction.user.id, draft)
    await _publish_or_discard(interaction, request)


async def finish_resubmit(
    interaction: discord.Interaction, previous_id: int, draft: ResubmitDraft
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    portfolio = bot_of(interaction).services.portfolio
    request = await portfolio.resubmit(
        interaction.guild_id, interaction.user.id, previous_id, draft
    )
    await _publish_or_discard(interaction, request)


async def _publish_or_discard(interaction: discord.Interaction, request: Request) -> None:
    publisher = Publisher(bot_of(interaction))
    portfolio = publisher.portfolio
    try:
        posted = await publisher.publish(request)
    except BaseException:
        await portfolio.discard_unposted(request.guild_id, request.id)
        raise
    queue = await portfolio.queue(posted.guild_id)
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
    interaction: discord.Interaction, request_id: int, draft: ReviewDraft
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    publisher = Publisher(bot_of(interaction))
    portfolio = publisher.portfolio
    acting = await actor(interaction)
    outcome = await portfolio.submit_review(interaction.guild_id, request_id, acting, draft)
    await publisher.refresh(outcome.request)
    # The review in the thread, then the owner's DM (a mention there when DMs are closed):
    # planned with the review, so a crash here delays them and never loses them.
    sent = await PortfolioNotices(publisher.bot, publisher).send(outcome.notices)
    where = review_whereabouts(sent.get(REVIEW_KIND), sent.get(REVIEW_DM_KIND))
    await reply(interaction, f"Thank you! Your review of #{request_id} is saved. {where}")


def review_whereabouts(posted: Delivered | None, told: Delivered | None) -> str:
    """Where the review went and how its owner heard of it, for the reviewer."""
    if told is not None and told.outcome is Outcome.SENT:
        owner = "the owner got a DM" if told.index == 0 else "the owner was mentioned there"
    elif told is not None and told.outcome is Outcome.SKIPPED:
        owner = "the owner can read it with /portfolio view"
    else:
        owner = "the owner will be told in a moment"
    if posted is not None and posted.outcome is Outcome.SENT:
        joint = " and " if owner.endswith("DM") else "; "
        return f"It is posted in the request's thread{joint}{owner}."
    if posted is not None and posted.outcome is Outcome.SKIPPED:
        if owner.endswith("there"):
            owner = "the owner was mentioned under the post"
        return f"The request's thread is gone, so the review is saved but not posted; {owner}."
    return f"It will be posted in the request's thread in a moment; {owner}."


async def finish_rating(
    interaction: discord.Interaction,
    request_id: int,
    helpful: int,
    comment: str | None,
) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    publisher = Publisher(bot_of(interaction))
    acting = await actor(interaction)
    outcome = await publisher.portfolio.rate(
        interaction.guild_id, request_id, acting, helpful, comment
    )
    await publisher.refresh(outcome.request)
    await publisher.refresh_review(outcome.request, outcome.review)
    await PortfolioNotices(publisher.bot, publisher).send(outcome.notices)  # the reviewer's DM
    follow_up = (
        " When you have worked on it, /portfolio resubmit opens the next round."
        if outcome.request.status is Status.REVIEWED
        else ""
    )
    await reply(interaction, f"Thanks: you rated the review {helpful}/5.{follow_up}")
