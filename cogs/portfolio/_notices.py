"""The messages a portfolio change owes people, sent through the one delivery helper.

The service plans each in the change's own transaction (bot/services/portfolio/notices.py);
a command or form sends what it just caused at once (`send`), and the scheduler sends what
is still due (`send_due`): after a crash, a failed send, or a sweep (returns, expiries).
Each message carries a marker no other message of the bot in that place has, so a try
after an unclean one finds it instead of posting it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import discord

from bot.delivery import After, Build, ChannelPost, Delivered, Destination, DirectMessage
from bot.markdown import clip_escaped
from bot.services.portfolio.models import Notice, Request
from bot.services.portfolio.notices import (
    EXPIRED_DM_KIND,
    EXPIRED_KIND,
    RATED_DM_KIND,
    RETURNED_KIND,
    REVIEW_DM_KIND,
    REVIEW_KIND,
)
from bot.services.scheduled_posts import (
    RETURNED_DM_KIND,
    TRANSFER_FROM_KIND,
    TRANSFER_TO_KIND,
    WITHDRAWN_DM_KIND,
    PostKey,
)
from bot.ui.replies import NO_PINGS, ping_only
from cogs.portfolio._embeds import duration, jump_url, review_embed
from cogs.portfolio._publisher import Publisher
from cogs.portfolio._views import rate_view

if TYPE_CHECKING:
    from bot.app import MentorBot

Message = tuple[str, dict[str, Any]]  # (marker, arguments of send)
THREAD_KINDS = (RETURNED_KIND, EXPIRED_KIND, REVIEW_KIND, REVIEW_DM_KIND)


def day_of(when: datetime | None) -> str:
    return f"{when:%A} {when.day} {when:%B}" if when else "an earlier day"


def linked(request: Request | None) -> str:
    link = jump_url(request) if request else None
    return f" ({link})" if link else ""


def thread_destinations(
    request: Request, marker: str, message: dict[str, Any]
) -> list[Destination]:
    """The request's thread; without one (or when it is refused), a reply under its post."""
    message = {"allowed_mentions": NO_PINGS, **message}
    found: list[Destination] = []
    if request.thread_id is not None:
        found.append(
            ChannelPost(marker, message, guild_id=request.guild_id, channel=request.thread_id)
        )
    post = request.post
    if post is not None and post.post_channel_id != request.thread_id:
        reference = discord.MessageReference(
            message_id=post.message_id, channel_id=post.post_channel_id, fail_if_not_exists=False
        )
        found.append(
            ChannelPost(
                marker,
                {**message, "reference": reference},
                guild_id=request.guild_id,
                channel=post.post_channel_id,
            )
        )
    return found


class PortfolioNotices:
    def __init__(self, bot: MentorBot, publisher: Publisher) -> None:
        self.bot = bot
        self.publisher = publisher
        self.portfolio = bot.services.portfolio
        self.rules = bot.services.portfolio.rules

    async def send(self, keys: Sequence[PostKey]) -> dict[str, Delivered]:
        """Send the notices a change just planned; by kind, what became of each."""
        return {n.key.kind: await self._deliver(n) for n in await self.portfolio.notices_of(keys)}

    async def send_due(self, now: datetime) -> None:
        due = await self.portfolio.notices_due(self.bot.services.scheduled_posts, now)
        for notice in due:
            await self._deliver(notice)

    async def _deliver(self, notice: Notice) -> Delivered:
        return await self.bot.delivery.deliver(
            notice.key, self._build(notice), self._after(notice), what="a portfolio notice"
        )

    def _build(self, notice: Notice) -> Build:
        async def build() -> list[Destination]:
            request = notice.request
            if request is None:
                return []  # erased since: nothing left to say
            kind = notice.key.kind
            if kind in (RETURNED_KIND, EXPIRED_KIND, REVIEW_KIND):
                marker, message = self._in_thread(kind, notice, request)
                return thread_destinations(request, marker, message)
            if kind == REVIEW_DM_KIND:
                return self._review_dm(request, notice)
            to = notice.recipient_id
            if kind == EXPIRED_DM_KIND:
                to = request.owner_id
            elif kind == RATED_DM_KIND:
                to = notice.review.reviewer_id if notice.review else None
            if not to:  # nobody (an erased reviewer is 0)
                return []
            marker, message = self._dm(kind, notice, request)
            return [DirectMessage(marker, message, user_id=to)]

        return build

    def _after(self, notice: Notice) -> After:
        async def after(message: discord.Message, index: int) -> None:
            request = notice.request
            if request is None:
                return
            kind = notice.key.kind
            # Past the thread, to a reply under the post: the thread refused the message.
            fell_back = index > (1 if kind == REVIEW_DM_KIND else 0)
            if kind in THREAD_KINDS and fell_back and request.thread_id is not None:
                await self._forget_thread_if_gone(request)
            if kind == REVIEW_KIND:
                await self.portfolio.attach_review_message(request.id, message.id)
            if notice.key.kind == EXPIRED_KIND and request.thread_id is not None:
                await self.publisher.archive(request.thread_id)  # a message may reopen it

        return after

    async def _forget_thread_if_gone(self, request: Request) -> None:
        """A deleted thread is forgotten, so later messages go under the post at once."""
        assert request.thread_id is not None
        try:
            await self.bot.fetch_channel(request.thread_id)
        except discord.NotFound:
            await self.portfolio.forget_thread(request.id)
        except discord.HTTPException:
            return

    def _in_thread(self, kind: str, notice: Notice, request: Request) -> Message:
        if kind == REVIEW_KIND and notice.review is not None:
            embed = review_embed(request, notice.review, self.portfolio.rubric)
            return f"Review of #{request.id}", {"embed": embed, "view": rate_view(request.id)}
        if kind == RETURNED_KIND:
            marker = f"the claim of {day_of(notice.claimed_at)} ran"
            days = duration(self.rules.return_after)
            return marker, {
                "content": f"This request is back in the queue: {marker} {days} without a "
                "review. Any reviewer can claim it now."
            }
        marker = "This request expired"
        days = duration(self.rules.expire_after)
        return marker, {"content": f"{marker}: nobody claimed it within {days}."}

    def _review_dm(self, request: Request, notice: Notice) -> list[Destination]:
        """To the owner; with DMs closed, a mention in the request's thread."""
        if notice.review is None:
            return []
        marker = f"Your portfolio project got a review: request #{request.id}"
        dm = {
            "content": f"{marker}{linked(request)}. Rate how helpful it was with the button "
            "under the review.",
            "embed": review_embed(request, notice.review, self.portfolio.rubric),
        }
        found: list[Destination] = [DirectMessage(marker, dm, user_id=request.owner_id)]
        mention = "your review is in"  # the thread is the request's own
        found += thread_destinations(
            request,
            mention,
            {
                "content": f"<@{request.owner_id}> {mention} (I couldn't DM you).",
                "allowed_mentions": ping_only(request.owner_id),
            },
        )
        return found

    def _dm(self, kind: str, notice: Notice, request: Request) -> Message:
        number = f"request #{request.id}"
        if kind == RETURNED_DM_KIND:
            marker = f"You claimed {number} on {day_of(notice.claimed_at)}"
            days = duration(self.rules.return_after)
            text = (
                f"{marker} and it went back to the queue after {days} without a review"
                f"{linked(request)}. Claim it again if you are still on it."
            )
        elif kind == EXPIRED_DM_KIND:
            marker = f"Your review {number} expired"
            days = duration(self.rules.expire_after)
            text = (
                f"{marker} after {days} without a reviewer{linked(request)}. You are welcome "
                "to ask again with /portfolio submit; reviewing someone else's project first "
                "moves yours up the queue."
            )
        elif kind == RATED_DM_KIND:
            marker = f"The owner of {number} rated your review"
            helpful = notice.review.helpful if notice.review else None
            text = f"{marker} {helpful}/5 for helpfulness. Thank you for reviewing!"
        elif kind == WITHDRAWN_DM_KIND:
            marker = f"Request #{request.id} that you claimed was withdrawn"
            text = f"{marker} by its owner; no review is needed any more."
        elif kind == TRANSFER_TO_KIND:
            marker = f"A moderator gave you portfolio review {number}"
            text = (
                f"{marker} ({clip_escaped(request.title, 160)}). Submit your review from its post."
            )
        else:
            assert kind == TRANSFER_FROM_KIND
            marker = f"A moderator passed {number} to another reviewer"
            text = f"{marker}; you no longer need to review it."
        return marker, {"content": text}
