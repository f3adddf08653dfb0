"""How portfolio requests, reviews, the queue and statistics look in Discord.

Member text only ever goes into embeds, which never ping, and is clipped to Discord's
limits here even though the service already bounds it. Where Discord renders Markdown
(descriptions, field values) it is escaped (bot.markdown), and it is never the label of a
link: `[#5](post) title`, not `[#5 title](post)`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import discord

from bot.discord_limits import (
    EMBED_DESCRIPTION,
    EMBED_TITLE,
    EMBEDS_TOTAL,
    FIELD_VALUE,
    THREAD_NAME,
)
from bot.markdown import clip_escaped
from bot.services.portfolio.models import (
    History,
    PortfolioStats,
    QueuePage,
    Request,
    RequestPage,
    Review,
    Status,
)
from bot.services.portfolio.rubric import Archetype, Rubric
from bot.ui.replies import clip

STATUS_COLOURS = {
    Status.OPEN: discord.Colour.green(),
    Status.CLAIMED: discord.Colour.gold(),
    Status.REVIEWED: discord.Colour.blurple(),
    Status.WITHDRAWN: discord.Colour.light_grey(),
    Status.EXPIRED: discord.Colour.dark_grey(),
}
STATUS_NAMES = {
    Status.OPEN: "Open",
    Status.CLAIMED: "Claimed",
    Status.REVIEWED: "Reviewed",
    Status.WITHDRAWN: "Withdrawn",
    Status.EXPIRED: "Expired",
}


def when(moment: datetime, style: str = "R") -> str:
    """A Discord timestamp: each reader sees it in their own time zone."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def user(user_id: int | None) -> str:
    if not user_id:
        return "a former member"
    return f"<@{user_id}>"


def status_line(request: Request) -> str:
    if request.status is Status.OPEN:
        line = "Open: waiting for a reviewer"
        if request.returned_count:
            line += " (back in the queue after a claim ran out)"
        return line
    if request.status is Status.CLAIMED:
        since = f" {when(request.claimed_at)}" if request.claimed_at else ""
        return f"Claimed by {user(request.reviewer_id)}{since}"
    if request.status is Status.REVIEWED:
        return f"Reviewed by {user(request.reviewer_id)}"
    if request.status is Status.WITHDRAWN:
        return "Withdrawn by its owner"
    return "Expired: nobody claimed it in time"


def post_title(request: Request) -> str:
    suffix = f" (round {request.round})" if request.round > 1 else ""
    return clip(request.title, EMBED_TITLE - len(suffix)) + suffix


def thread_name(request: Request) -> str:
    return clip(f"#{request.id} {request.title}", THREAD_NAME)


def scores_block(review: Review, rubric: Rubric) -> str:
    lines = [
        f"**{c.name}**: {review.scores[c.key]}/5 {stars(review.scores[c.key])}"
        for c in rubric.criteria
    ]
    lines.append(f"**Average**: {review.average:.1f}/5")
    return "\n".join(lines)


def stars(score: int) -> str:
    return "★" * score + "☆" * (5 - score)


def links_block(request: Request) -> str:
    repo = clip_escaped(request.repo_url, FIELD_VALUE // 2)
    demo = (
        clip_escaped(request.demo_url, FIELD_VALUE // 2 - 20) if request.demo_url else "none given"
    )
    return f"Repository: {repo}\nDemo: {demo}"


def request_embed(
    request: Request,
    rubric: Rubric,
    *,
    history: History | None = None,
    review: Review | None = None,
) -> discord.Embed:
    """The post in the review channel; it always shows the request's current state."""
    embed = discord.Embed(
        title=post_title(request),
        url=request.repo_url,
        description=clip_escaped(request.description, EMBED_DESCRIPTION, one_line=False),
        colour=STATUS_COLOURS[request.status],
        timestamp=request.created_at,
    )
    embed.set_author(name=f"Portfolio review request #{request.id}")
    embed.add_field(name="Status", value=status_line(request), inline=False)
    embed.add_field(name="Project type", value=_archetype(rubric, request.archetype).name)
    embed.add_field(name="Submitted by", value=user(request.owner_id))
    embed.add_field(name="Links", value=links_block(request), inline=False)
    embed.add_field(
        name="Feedback wanted",
        value=clip_escaped(request.feedback_wanted, FIELD_VALUE, one_line=False),
        inline=False,
    )
    embed.add_field(
        name="Self-check",
        value=(
            "README, deployed link and demo ready"
            if request.self_check == "complete"
            else "Submitted anyway: some self-check items may be missing"
        ),
        inline=False,
    )
    if request.round > 1 and history is not None:
        _add_history(embed, request, history, rubric)
    if review is not None:
        embed.add_field(name="Review scores", value=scores_block(review, rubric), inline=False)
        if review.helpful is not None:
            embed.add_field(name="Owner's rating", value=f"Helpful: {review.helpful}/5")
    footer = f"Request #{request.id}"
    if request.round > 1:
        footer += f" · round {request.round} of project #{request.project_id}"
    embed.set_footer(text=footer)
    return fit(embed)


def _add_history(embed: discord.Embed, request: Request, history: History, rubric: Rubric) -> None:
    if request.change_note:
        embed.add_field(
            name=f"What changed since round {request.round - 1}",
            value=clip_escaped(request.change_note, FIELD_VALUE, one_line=False),
            inline=False,
        )
    earlier = [r for r in history.rounds if r.request.id != request.id]
    lines = []
    for past in earlier[-8:]:
        head = f"Round {past.request.round} (#{past.request.id})"
        if past.review is not None:
            lines.append(
                f"{head}: reviewed by {user(past.review.reviewer_id)} "
                f"{when(past.review.created_at, 'd')}, average {past.review.average:.1f}/5"
            )
        else:
            lines.append(f"{head}: {STATUS_NAMES[past.request.status].lower()}")
    if lines:
        embed.add_field(
            name="Earlier rounds", value=clip("\n".join(lines), FIELD_VALUE), inline=False
        )
    trend_lines = []
    for criterion in rubric.criteria:
        scores = history.trend(criterion.key)
        if scores:
            trend_lines.append(f"{criterion.short}: {' → '.join(str(s) for s in scores)}")
    if trend_lines:
        averages = " → ".join(f"{a:.1f}" for a in history.averages())
        trend_lines.append(f"Average: {averages}")
        embed.add_field(name="Score trend", value=clip("\n".join(trend_lines), FIELD_VALUE))


def review_embed(request: Request, review: Review, rubric: Rubric) -> discord.Embed:
    """A review as posted in the request's thread (and sent to the owner)."""
    embed = discord.Embed(
        title=clip(f"Review of #{request.id}: {request.title}", EMBED_TITLE),
        description=f"By {user(review.reviewer_id)}\n\n{scores_block(review, rubric)}",
        colour=discord.Colour.blurple(),
        timestamp=review.created_at,
    )
    embed.add_field(
        name="Strengths",
        value=clip_escaped(review.strengths, FIELD_VALUE, one_line=False),
        inline=False,
    )
    embed.add_field(
        name="What to improve",
        value=clip_escaped(review.improvements, FIELD_VALUE, one_line=False),
        inline=False,
    )
    if review.helpful is not None:
        rating = f"The owner rated this review {review.helpful}/5 for helpfulness."
        if review.rating_comment:
            rating += "\n" + clip_escaped(review.rating_comment, FIELD_VALUE - 100, one_line=False)
        embed.add_field(name="Owner's rating", value=clip(rating, FIELD_VALUE), inline=False)
    embed.set_footer(text=f"Request #{request.id} · round {request.round}")
    return fit(embed)


def checklist_embed(
    rubric: Rubric, archetype: Archetype, *, previous: Request | None = None
) -> discord.Embed:
    lines = [f"{n}. {item}" for n, item in enumerate(rubric.checklist, start=1)]
    embed = discord.Embed(
        title="Before you ask for a review",
        description=rubric.checklist_intro + "\n\n" + "\n".join(lines),
        colour=discord.Colour.teal(),
    )
    embed.add_field(name=f"Project type: {archetype.name}", value=archetype.description)
    embed.add_field(
        name="What reviewers score (1 to 5)",
        value="\n".join(f"**{c.name}**: {c.look_for}" for c in rubric.criteria),
        inline=False,
    )
    if previous is not None:
        embed.add_field(
            name=f"Next round of #{previous.id}",
            value=f"{clip_escaped(previous.title, 300)}: the reviewer will see the earlier "
            "rounds, the score trend and your note on what changed.",
            inline=False,
        )
    embed.set_footer(
        text="Ready? Press Everything is ready. Missing something? You can still submit anyway."
    )
    return embed


def queue_embed(page: QueuePage, rubric: Rubric) -> discord.Embed:
    title = "Review queue"
    if page.archetype:
        title += f": {_archetype(rubric, page.archetype).name}"
    embed = discord.Embed(title=title, colour=discord.Colour.green())
    if not page.entries:
        embed.description = "Nothing is waiting for a reviewer. Thank you!"
        return embed
    blocks = []
    for entry in page.entries:
        request = entry.request
        link = jump_url(request)
        head = f"**{entry.position}. #{request.id} {clip_escaped(request.title, 160)}**"
        if link:
            head += f" ([post]({link}))"
        blocks.append(
            f"{head}\n{_archetype(rubric, request.archetype).name} · by {user(request.owner_id)}"
            f" · waiting {duration(entry.waiting)}\nWhy here: {'; '.join(entry.reasons)}"
        )
    embed.description = clip("\n\n".join(blocks), EMBED_DESCRIPTION)
    embed.set_footer(
        text=f"Page {page.page} of {page.pages} · {page.total} open · oldest first, "
        "moved up for members who review others"
    )
    return embed


def mine_embed(page: RequestPage, rubric: Rubric) -> discord.Embed:
    embed = discord.Embed(title="Your review requests", colour=discord.Colour.teal())
    if not page.requests:
        embed.description = "You have no review requests yet. Start one with /portfolio submit."
        return embed
    blocks = []
    for request in page.requests:
        link = jump_url(request)
        head = f"**#{request.id} {clip_escaped(request.title, 160)}**"
        if request.round > 1:
            head += f" (round {request.round})"
        if link:
            head += f" ([post]({link}))"
        blocks.append(f"{head}\n{status_line(request)} · asked {when(request.created_at)}")
    embed.description = clip("\n\n".join(blocks), EMBED_DESCRIPTION)
    embed.set_footer(
        text=f"Page {page.page} of {page.pages} · {page.total} requests · "
        "/portfolio resubmit starts a new round of a reviewed project"
    )
    return embed


def stats_embed(stats: PortfolioStats) -> discord.Embed:
    embed = discord.Embed(title="Portfolio reviews in this server", colour=discord.Colour.blurple())
    counts = ", ".join(f"{n} {status}" for status, n in stats.by_status.items() if n)
    embed.add_field(
        name="Requests", value=f"{stats.total} in all" + (f" ({counts})" if counts else "")
    )
    embed.add_field(
        name="Median time to a review",
        value=(
            "no reviews yet" if stats.median_to_review is None else duration(stats.median_to_review)
        ),
    )
    embed.add_field(name="Resubmissions", value=str(stats.resubmissions))
    if stats.reviewers:
        lines = []
        for r in stats.reviewers:
            rating = (
                f"helpful {r.average_helpful:.1f}/5 from {r.ratings} rating"
                f"{'s' if r.ratings != 1 else ''}"
                if r.average_helpful is not None
                else "not rated yet"
            )
            plural = "s" if r.reviews != 1 else ""
            lines.append(
                f"{user(r.reviewer_id)}: {r.reviews} review{plural}, {rating}, "
                f"last {when(r.last_review_at)}"
            )
        embed.add_field(name="Reviewers", value=clip("\n".join(lines), FIELD_VALUE), inline=False)
    else:
        embed.add_field(name="Reviewers", value="Nobody has reviewed a project yet.", inline=False)
    return embed


def view_embeds(
    request: Request, rubric: Rubric, history: History, review: Review | None
) -> list[discord.Embed]:
    """A request and its review in one message: together within Discord's 6,000 characters."""
    first = request_embed(request, rubric, history=history, review=review)
    if review is None:
        return [first]
    second = review_embed(request, review, rubric)
    excess = len(first) + len(second) - EMBEDS_TOTAL
    if excess > 0 and first.description:
        first.description = clip(first.description, max(1, len(first.description) - excess))
    return [first, second]


def nudge_embed(
    requests: list[Request], total: int, now: datetime, rubric: Rubric
) -> discord.Embed:
    lines = []
    for request in requests:
        link = jump_url(request)
        number = f"[#{request.id}]({link})" if link else f"#{request.id}"
        lines.append(
            f"{number} {clip_escaped(request.title, 160)} · "
            f"{_archetype(rubric, request.archetype).name} · "
            f"waiting {duration(now - request.open_since)}"
        )
    if total > len(requests):
        lines.append(f"…and {total - len(requests)} more in /portfolio queue.")
    return discord.Embed(
        title="Portfolio requests waiting for a reviewer",
        description=clip("\n".join(lines), EMBED_DESCRIPTION),
        colour=discord.Colour.orange(),
    )


def jump_url(request: Request) -> str | None:
    if request.message_id is not None and request.post_channel_id is not None:
        return (
            f"https://discord.com/channels/{request.guild_id}/"
            f"{request.post_channel_id}/{request.message_id}"
        )
    if request.thread_id is not None:
        return f"https://discord.com/channels/{request.guild_id}/{request.thread_id}"
    return None


def fit(embed: discord.Embed) -> discord.Embed:
    """Trim the description if the whole embed would pass Discord's 6,000 characters."""
    excess = len(embed) - EMBEDS_TOTAL
    if excess > 0 and embed.description:
        embed.description = clip(embed.description, max(1, len(embed.description) - excess))
    return embed


def _archetype(rubric: Rubric, key: str) -> Archetype:
    for archetype in rubric.archetypes:
        if archetype.key == key:
            return archetype
    return Archetype(key, key, "")
