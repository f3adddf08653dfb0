"""Embeds and texts for the roadmap: what the member reads, clipped to Discord's limits."""

from __future__ import annotations

import discord

from bot.discord_limits import EMBED_DESCRIPTION, EMBED_FOOTER, EMBED_TITLE, FIELD_VALUE
from bot.markdown import clip_escaped, inline
from bot.services.roadmap.digest import Digest
from bot.services.roadmap.leaderboard import BOARD_LABELS, PERIOD_LABELS, Board, LeaderboardPage
from bot.services.roadmap.records import (
    CheckinResult,
    MemberView,
    MilestoneResult,
    StreakSummary,
    StreakView,
    StreakWhy,
    WhyDay,
)
from bot.services.roadmap.streaks import Outcome
from bot.ui.replies import clip

COLOUR = discord.Colour.green()
SHOWN_TEXT = 300  # how much of a member's own check-in text is echoed back


def bar(done: int, total: int, width: int = 10) -> str:
    filled = 0 if total == 0 else round(width * done / total)
    return "▰" * filled + "▱" * (width - filled)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def days(count: int) -> str:
    return plural(count, "day")


def streak_line(summary: StreakSummary) -> str:
    line = f"🔥 **{days(summary.current)}** (best {summary.best})"
    if summary.freezes:
        line += f" · 🧊 {summary.freezes} freeze{'s' if summary.freezes > 1 else ''}"
    return line


def week_line(summary: StreakSummary) -> str:
    if summary.daily:
        return f"This week: {summary.week_days}/7 days (goal: every day)"
    return f"This week: {summary.week_days}/{summary.weekly_goal} days"


def roadmap_embed(view: MemberView) -> discord.Embed:
    month = f"Month {view.month} of 12" if view.month <= 12 else f"Month {view.month} (past 12)"
    phase = view.phase_name if view.finished else f"Phase {view.phase}: {view.phase_name}"
    description = f"<@{view.user_id}> · {month} · {phase}\nPace: **{view.pace.label}**"
    if view.paused_since:
        description += f"\n⏸️ Paused since {view.paused_since.isoformat()}"
    embed = discord.Embed(
        title=clip(f"Roadmap: {view.track.name}", EMBED_TITLE),
        description=clip(description, EMBED_DESCRIPTION),
        colour=COLOUR,
    )
    for phase_progress in view.progress:
        marker = "▶️ " if phase_progress.number == view.phase else ""
        embed.add_field(
            name=clip(
                f"{marker}{phase_progress.number}. {phase_progress.name} "
                f"(months {phase_progress.first_month}-{phase_progress.last_month})",
                EMBED_TITLE,
            ),
            value=f"{bar(phase_progress.done, phase_progress.total)} "
            f"{phase_progress.done}/{phase_progress.total}",
            inline=False,
        )
    if view.done_recently:
        embed.add_field(
            name="Done recently",
            value=clip("\n".join(f"✅ {inline(m.title)}" for m in view.done_recently), FIELD_VALUE),
            inline=False,
        )
    if view.next_up:
        embed.add_field(
            name="Next up",
            value=clip(
                "\n".join(f"• **{inline(m.title)}** ({inline(m.skill)})" for m in view.next_up),
                FIELD_VALUE,
            ),
            inline=False,
        )
    if view.archived:
        shown = [f"🗄️ {m.title} (done {m.done_on.isoformat()})" for m in view.archived[:5]]
        if len(view.archived) > 5:
            shown.append(f"… and {len(view.archived) - 5} more")
        embed.add_field(
            name="Archived: from an earlier version of the roadmap",
            value=clip("\n".join(shown), FIELD_VALUE),
            inline=False,
        )
    footer = f"{streak_plain(view.streak)} · Started {view.start_date} · {view.timezone}"
    embed.set_footer(text=clip(footer, EMBED_FOOTER))
    return embed


def streak_plain(summary: StreakSummary) -> str:
    return f"Streak {days(summary.current)} (best {summary.best})"


def milestone_text(result: MilestoneResult) -> str:
    title = inline(result.milestone.title)
    if not result.changed:
        state = "already done" if result.done else "not done yet"
        return f"'{title}' is {state}. ({result.done_count}/{result.total} milestones)"
    if result.done:
        text = f"✅ Done: **{title}**. {result.done_count}/{result.total} milestones."
    else:
        text = f"↩️ Undone: **{title}**. {result.done_count}/{result.total} milestones."
    if result.phase_after != result.phase_before:
        text += f"\nYou are now in **{inline(result.phase_name)}**."
    return text


def checkin_embed(result: CheckinResult, user_id: int, did: str) -> discord.Embed:
    summary = result.streak
    lines = [f"<@{user_id}> checked in for {result.day.isoformat()}."]
    if result.outcome is Outcome.HELD:
        spent = result.freezes_spent
        lines.append(f"🧊 {spent} freeze{'s' if spent > 1 else ''} kept your streak alive.")
    elif result.outcome is Outcome.BROKE:
        lines.append("A new streak starts today.")
    elif result.outcome in (Outcome.SAME_DAY, Outcome.EARLIER):
        lines.append("Today already counted; this one is added to your log.")
    lines.append(streak_line(summary))
    lines.append(week_line(summary))
    if result.earned_freeze:
        lines.append("🧊 You earned a streak freeze.")
    if result.milestone is not None:
        state = "was already done" if result.milestone_was_done else "done"
        lines.append(f"✅ Milestone {state}: **{inline(result.milestone.title)}**")
    if result.phase_entered:
        lines.append(f"🎉 New phase: **{inline(result.phase_entered)}**")
    embed = discord.Embed(
        title="Check-in",
        description=clip("\n".join(lines), EMBED_DESCRIPTION),
        colour=COLOUR,
    )
    embed.add_field(
        name="What I did", value=clip_escaped(did, SHOWN_TEXT, one_line=False), inline=False
    )
    return embed


def streak_embed(view: StreakView, with_image: bool) -> discord.Embed:
    summary = view.summary
    lines = [f"<@{view.user_id}>", streak_line(summary), week_line(summary)]
    if view.paused:
        lines.append("⏸️ Paused: days off don't count against the streak.")
    elif view.breaks_at is not None:
        lines.append(f"Keep it going by <t:{int(view.breaks_at.timestamp())}:f>.")
    lines.append(
        f"{plural(view.checkin_days, 'check-in day')} · "
        f"{plural(view.checkins_total, 'check-in')} · "
        f"{view.minutes_total // 60} h {view.minutes_total % 60} min logged"
    )
    embed = discord.Embed(
        title="Streak", description=clip("\n".join(lines), EMBED_DESCRIPTION), colour=COLOUR
    )
    if with_image:
        embed.set_image(url="attachment://heatmap.png")
    embed.set_footer(text=f"Days are counted in {view.timezone}. /streak why explains them.")
    return embed


OUTCOME_TEXT = {
    Outcome.STARTED: "started a streak",
    Outcome.KEPT: "counted",
    Outcome.HELD: "counted after {missed} missed; {spent} freeze(s) spent",
    Outcome.BROKE: "new streak: {missed} missed with only {before} freeze(s)",
}


def why_line(day: WhyDay) -> str:
    text = OUTCOME_TEXT[day.outcome].format(
        missed=days(day.missed), spent=day.freezes_spent, before=day.freezes_before
    )
    if day.earned_freeze:
        text += "; earned a freeze"
    return f"`{day.day.isoformat()}` {text} → {days(day.streak_after)}"


def why_embed(why: StreakWhy) -> discord.Embed:
    summary = why.view.summary
    rule = (
        "Every local day counts; a missed day spends a freeze, and breaks the streak "
        "when none is left."
        if summary.daily
        else f"Each week needs {summary.weekly_goal} check-in days; each day short spends "
        "a freeze, and a week short by more than your freezes breaks the streak."
    )
    lines = [rule, "Several check-ins on one day count once; paused days are excused.", ""]
    lines += [why_line(day) for day in why.days] or ["No check-ins yet."]
    if why.missed_since_last and summary.current:
        lines.append(
            f"Since your last check-in: {days(why.missed_since_last)} missed so far, "
            f"covered by freezes ({summary.freezes} left)."
        )
    elif why.missed_since_last:
        lines.append(
            f"Since your last check-in: {days(why.missed_since_last)} missed, so it broke."
        )
    if why.last_break is not None:
        lines.append(
            f"\nLast break: {why.last_break.day.isoformat()}, after {days(why.last_break.missed)} "
            "without a check-in."
        )
    embed = discord.Embed(
        title="Why your streak is what it is",
        description=clip("\n".join(lines), EMBED_DESCRIPTION),
        colour=COLOUR,
    )
    embed.set_footer(text=f"{streak_plain(summary)} · days in {why.view.timezone}")
    return embed


def leaderboard_line(
    page: LeaderboardPage, rank: int, user_id: int, value: int, checkins: int
) -> str:
    medal = {1: "🥇", 2: "🥈", 3: "🥉"}.get(rank, f"`#{rank}`")
    if page.board is Board.MILESTONES:
        score = plural(value, "milestone")
    elif page.board is Board.CHECKINS:
        score = f"{days(value)} ({plural(checkins, 'check-in')})"
    else:
        score = f"{days(value)} streak"
    return f"{medal} <@{user_id}> · {score}"


def leaderboard_embed(page: LeaderboardPage) -> discord.Embed:
    lines = [leaderboard_line(page, r.rank, r.user_id, r.value, r.checkins) for r in page.rows]
    title = f"{BOARD_LABELS[page.board]} · {PERIOD_LABELS[page.period]}"
    embed = discord.Embed(
        title=title,
        description=clip("\n".join(lines) or "Nobody on this board yet.", EMBED_DESCRIPTION),
        colour=COLOUR,
    )
    more = " · more on the next page" if page.has_next else ""
    embed.set_footer(text=f"Page {page.page}{more}")
    return embed


def digest_embed(digest: Digest, with_image: bool) -> discord.Embed:
    lines = [
        f"**{digest.checkins}** check-ins from **{digest.members_active}** of "
        f"{digest.enrolled} members",
        f"**{digest.minutes // 60} h** logged · **{digest.milestones}** milestones completed",
    ]
    embed = discord.Embed(
        title=f"Weekly digest · {digest.week_start:%d %b} - {digest.week_end:%d %b %Y}",
        description="\n".join(lines),
        colour=COLOUR,
    )
    if digest.top_streaks:
        embed.add_field(
            name="Longest streaks",
            value=clip(
                "\n".join(f"🔥 <@{u}> · {days(s)}" for u, s in digest.top_streaks),
                FIELD_VALUE,
            ),
            inline=False,
        )
    if digest.phase_entries:
        more = digest.phase_entries_total - len(digest.phase_entries)
        text = "\n".join(f"🎉 <@{u}> → {name}" for u, name in digest.phase_entries)
        if more > 0:
            text += f"\n... and {more} more"
        embed.add_field(name="New phases", value=clip(text, FIELD_VALUE), inline=False)
    if with_image:
        embed.set_image(url="attachment://week.png")
    embed.set_footer(text="Check in with /checkin · see the boards with /leaderboard")
    return embed
