"""How challenges look in Discord: embeds for posts, results, boards and lists."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import discord

from bot.discord_limits import EMBED_DESCRIPTION, EMBED_FOOTER, EMBED_TITLE, FIELD_VALUE
from bot.markdown import clip_escaped, inline
from bot.services.challenges.model import (
    PHASE_LABELS,
    TOPIC_LABELS,
    BankEntry,
    Challenge,
    DailyPost,
    MemberStats,
    Standing,
    Submission,
    Weekly,
    WeeklyResults,
)
from bot.services.challenges.weekly import top_three
from bot.ui.replies import clip

LETTERS = "ABCDE"
DIFFICULTY_MARK = {"easy": "Easy", "medium": "Medium", "hard": "Hard"}
MEDALS = {1: "1st", 2: "2nd", 3: "3rd"}
COLOUR = discord.Colour.gold()


def stamp(when: datetime, style: str = "f") -> str:
    """A Discord timestamp that each reader sees in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


def topic_label(topic: str) -> str:
    return TOPIC_LABELS.get(topic, topic)


def option_lines(challenge: Challenge) -> str:
    return "\n".join(
        f"**{LETTERS[n]}.** {challenge.options[i]}" for n, i in enumerate(challenge.display_order)
    )


def challenge_meta(challenge: Challenge) -> str:
    return (
        f"{PHASE_LABELS[challenge.phase]} · {topic_label(challenge.topic)} · "
        f"{DIFFICULTY_MARK[challenge.difficulty.value]}"
    )


def daily_marker(day: str) -> str:
    """Words only the daily post of `day` has: how a retry finds it (bot/delivery.py)."""
    return f"Daily challenge of {day}"


def weekly_marker(weekly_id: int) -> str:
    return f"Weekly challenge #{weekly_id}"


def results_marker(weekly_id: int) -> str:
    return f"Results of weekly challenge #{weekly_id}"


def daily_embed(post: DailyPost, closes_at: datetime | None = None) -> discord.Embed:
    challenge = post.challenge
    closes_at = closes_at or post.closes_at
    embed = discord.Embed(
        title=clip(f"Daily challenge · {challenge.title}", EMBED_TITLE),
        description=clip(challenge.prompt, EMBED_DESCRIPTION - 1200),
        colour=COLOUR,
    )
    if challenge.is_quiz:
        embed.add_field(
            name="Options", value=clip(option_lines(challenge), FIELD_VALUE), inline=False
        )
        how = "Pick an option below: one answer each. Hint costs points. Spoilers in the thread."
        embed.add_field(
            name="Answers",
            value=f"{post.answered} answered · {post.correct} correct",
            inline=False,
        )
    else:
        how = "This is a task: answer with `/challenge submit` (a link and notes)."
    if closes_at is not None:
        how += f"\nOpen until {stamp(closes_at)}."
    embed.add_field(name="How to answer", value=clip(how, FIELD_VALUE), inline=False)
    embed.set_footer(
        text=clip(f"{daily_marker(post.day)} · {challenge_meta(challenge)}", EMBED_FOOTER)
    )
    return embed


def practice_embed(challenge: Challenge) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"Practice · {challenge.title}", EMBED_TITLE),
        description=clip(challenge.prompt, EMBED_DESCRIPTION - 1200),
        colour=discord.Colour.blurple(),
    )
    embed.add_field(name="Options", value=clip(option_lines(challenge), FIELD_VALUE), inline=False)
    embed.set_footer(
        text=clip(f"No points: just practice · {challenge_meta(challenge)}", EMBED_FOOTER)
    )
    return embed


def weekly_embed(weekly: Weekly) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"Weekly challenge · {weekly.title}", EMBED_TITLE),
        description=clip(weekly.brief, 2000),
        colour=discord.Colour.purple(),
    )
    embed.add_field(name="Rules", value=clip(weekly.rules, FIELD_VALUE), inline=False)
    embed.add_field(
        name="Deadline",
        value=f"{stamp(weekly.deadline, 'F')} ({stamp(weekly.deadline, 'R')})",
        inline=False,
    )
    status = {
        "open": "Submit with `/challenge submit`: a link and notes, editable until the deadline.",
        "scheduled": f"Starts {stamp(weekly.starts_at, 'F')}.",
        "closed": "Submissions are closed.",
        "cancelled": "This challenge was cancelled by the moderators.",
    }[weekly.status]
    embed.add_field(name="Status", value=status, inline=False)
    embed.set_footer(text=weekly_marker(weekly.id))
    return embed


def results_embed(results: WeeklyResults) -> discord.Embed:
    weekly = results.weekly
    embed = discord.Embed(
        title=clip(f"Results · {weekly.title}", EMBED_TITLE), colour=discord.Colour.purple()
    )
    embed.set_footer(text=results_marker(weekly.id))
    if not results.accepted:
        embed.description = (
            f"Submissions are closed. {results.submissions} submitted; none was accepted."
        )
        return embed
    podium = "\n".join(
        f"**{MEDALS.get(s.rank, f'{s.rank}th')}** <@{s.user_id}> · {s.points} points"
        for s in top_three(results)
    )
    embed.description = (
        f"Submissions are closed: {results.submissions} submitted, "
        f"{len(results.accepted)} accepted. Well done, everyone!"
    )
    embed.add_field(name="Top three", value=clip(podium, FIELD_VALUE), inline=False)
    embed.add_field(
        name="Accepted submissions",
        value=member_lines(results.accepted, FIELD_VALUE),
        inline=False,
    )
    return embed


def member_lines(standings: tuple[Standing, ...] | list[Standing], limit: int) -> str:
    lines: list[str] = []
    used = 0
    for index, s in enumerate(standings):
        line = f"{s.rank}. <@{s.user_id}> · {s.points} points"
        more = f"... and {len(standings) - index} more"
        if used + len(line) + 1 > limit - len(more) - 1:
            lines.append(more)
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines) or "nobody yet"


def leaderboard_pages(
    standings: list[Standing], period: str, page_size: int
) -> list[discord.Embed]:
    names = {"week": "this week", "month": "this month", "all": "all time"}
    title = f"Challenge leaderboard · {names[period]}"
    if not standings:
        return [discord.Embed(title=title, description="No points yet.", colour=COLOUR)]
    pages = []
    for start in range(0, len(standings), page_size):
        chunk = standings[start : start + page_size]
        embed = discord.Embed(title=title, description=member_lines(chunk, 4000), colour=COLOUR)
        pages.append(embed)
    for number, embed in enumerate(pages, start=1):
        embed.set_footer(text=f"Page {number} of {len(pages)} · {len(standings)} members")
    return pages


def month_top_embed(month: str, standings: tuple[Standing, ...]) -> discord.Embed:
    label = datetime.strptime(month, "%Y-%m").strftime("%B %Y")
    embed = discord.Embed(
        title=f"Top members of {label}",
        description=member_lines(standings, 4000),
        colour=COLOUR,
    )
    embed.set_footer(text="The monthly board starts again from zero. Keep going!")
    return embed


def stats_embed(stats: MemberStats, name: str) -> discord.Embed:
    embed = discord.Embed(title=clip(f"Challenge stats · {name}", EMBED_TITLE), colour=COLOUR)
    embed.add_field(name="Points", value=f"{stats.total} all time", inline=True)
    embed.add_field(name="This month", value=str(stats.month), inline=True)
    embed.add_field(name="This week", value=str(stats.week), inline=True)
    embed.add_field(
        name="Challenge streak",
        value=f"{stats.streak} day{'s' if stats.streak != 1 else ''}",
        inline=True,
    )
    embed.add_field(
        name="Daily quizzes",
        value=f"{stats.daily_correct} correct of {stats.daily_answered}",
        inline=True,
    )
    solved = "\n".join(f"{topic_label(t)}: {n}" for t, n in stats.solved_by_topic)
    embed.add_field(
        name="Solved by topic", value=clip(solved or "nothing yet", FIELD_VALUE), inline=False
    )
    return embed


def bank_pages(entries: list[BankEntry], page_size: int, filters: str) -> list[discord.Embed]:
    title = "Challenge bank" + (f" · {filters}" if filters else "")
    if not entries:
        return [discord.Embed(title=title, description="No challenge matches.", colour=COLOUR)]
    pages = []
    for start in range(0, len(entries), page_size):
        lines = []
        for entry in entries[start : start + page_size]:
            c = entry.challenge
            flags = " · disabled" if entry.disabled else ""
            flags += " · custom" if c.custom else ""
            lines.append(
                clip(
                    f"`{c.id}` **{inline(c.title)}**\n{c.kind.value} · {c.difficulty.value} · "
                    f"{topic_label(c.topic)} · {c.phase.value}{flags}",
                    300,
                )
            )
        pages.append(discord.Embed(title=title, description="\n".join(lines), colour=COLOUR))
    for number, embed in enumerate(pages, start=1):
        embed.set_footer(text=f"Page {number} of {len(pages)} · {len(entries)} challenges")
    return pages


def submission_embed(submission: Submission, title: str, index: int, total: int) -> discord.Embed:
    embed = discord.Embed(
        title=clip(f"Submission #{submission.id} · {title}", EMBED_TITLE),
        colour=discord.Colour.teal(),
    )
    embed.add_field(name="Member", value=f"<@{submission.user_id}>", inline=True)
    embed.add_field(name="Status", value=submission.status, inline=True)
    if submission.points is not None:
        embed.add_field(name="Points", value=str(submission.points), inline=True)
    link = clip_escaped(submission.link, FIELD_VALUE) if submission.link else "none"
    notes = (
        clip_escaped(submission.notes, FIELD_VALUE, one_line=False) if submission.notes else None
    )
    embed.add_field(name="Link", value=link, inline=False)
    embed.add_field(name="Notes", value=notes or "none", inline=False)
    embed.add_field(name="Submitted", value=stamp(submission.updated_at), inline=False)
    embed.set_footer(text=f"{index + 1} of {total}")
    return embed


def local_time(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")
