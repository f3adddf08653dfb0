"""Text and embeds of the Q&A commands. Model and member text is clipped and never pings."""

from __future__ import annotations

import discord

from bot.discord_limits import EMBED_AUTHOR, EMBED_DESCRIPTION, EMBED_TITLE, FIELD_VALUE
from bot.markdown import clip_escaped, defang, inline
from bot.services.qa.kb import DocumentInfo
from bot.services.qa.models import (
    Answer,
    AnswerMode,
    Budget,
    Citation,
    Escalation,
    Gap,
    UsageReport,
)
from bot.ui.replies import clip
from bot.ui.split import split_message

CURSOR = " ▌"
STOPPED = "*— stopped —*"
MODE_LABELS = {
    AnswerMode.LLM: "AI answer grounded in the knowledge base: check the sources.",
    AnswerMode.CACHED: "Answered from cache: this question was asked earlier today.",
    AnswerMode.EXCERPTS: "Excerpts from the knowledge base, not an AI answer.",
    AnswerMode.HINT: "Hints only: a challenge on this is still open.",
}


def streaming_pieces(text: str) -> list[str]:
    return split_message(defang(text) + CURSOR) if text.strip() else ["…"]


def answer_pieces(answer: Answer) -> list[str]:
    parts = [defang(answer.text)]
    if answer.stopped:
        parts.append(STOPPED)
    parts.extend(f"*{note}*" for note in answer.notes)
    return split_message("\n\n".join(p for p in parts if p))


def sources_embed(answer: Answer) -> discord.Embed:
    embed = discord.Embed(colour=discord.Colour.blurple())
    if answer.citations:
        embed.title = "Sources"
        embed.description = clip(citation_lines(answer.citations), EMBED_DESCRIPTION)
    embed.set_footer(text=MODE_LABELS[answer.mode])
    return embed


def citation_lines(citations: tuple[Citation, ...]) -> str:
    return "\n".join(f"**[{c.number}]** {inline(c.title)} › {inline(c.section)}" for c in citations)


def escalation_embed(escalation: Escalation, asker: discord.abc.User) -> discord.Embed:
    embed = discord.Embed(
        title="A member asks the mentors",
        description=clip_escaped(escalation.question, EMBED_DESCRIPTION, one_line=False),
        colour=discord.Colour.orange(),
    )
    embed.set_author(name=clip(asker.display_name, EMBED_AUTHOR))
    if escalation.answer:
        embed.add_field(
            name="Mentor bot's answer so far",
            value=clip(defang(escalation.answer), FIELD_VALUE),
        )
    embed.set_footer(
        text="Answer in the thread. A moderator can save a good reply to the knowledge base: "
        "right-click it > Apps > Promote to knowledge base."
    )
    return embed


def documents_embed(documents: list[DocumentInfo]) -> discord.Embed:
    shipped = [d for d in documents if d.shipped]
    own = [d for d in documents if not d.shipped]
    embed = discord.Embed(title="Knowledge base", colour=discord.Colour.blurple())
    lines = [f"**Shipped with Mentor** ({len(shipped)})"]
    lines += [_doc_line(d) for d in shipped]
    lines.append(f"\n**This server's documents** ({len(own)})")
    lines += [_doc_line(d) for d in own] or ["None yet: add one with /kb add."]
    embed.description = _fit_lines(lines, EMBED_DESCRIPTION)
    embed.set_footer(text="/kb show <document> for its sections.")
    return embed


def _doc_line(document: DocumentInfo) -> str:
    kind = " (promoted answer)" if document.source == "promoted" else ""
    sections = "section" if document.sections == 1 else "sections"
    title = clip_escaped(document.title, 160)
    return f"• {title} `{document.slug}`: {document.sections} {sections}{kind}"


def _fit_lines(lines: list[str], limit: int) -> str:
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        more = f"… and {len(lines) - index} more."
        if used + len(line) + 1 > limit - len(more) - 1:
            kept.append(more)
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def document_embed(
    document: DocumentInfo, sections: list[str], section: str | None, text: str | None
) -> discord.Embed:
    embed = discord.Embed(title=clip(document.title, EMBED_TITLE), colour=discord.Colour.blurple())
    source = {"shipped": "shipped with Mentor", "server": "this server", "promoted": "promoted"}
    if section is not None and text is not None:
        embed.description = clip(f"**{inline(section)}**\n\n{text}", EMBED_DESCRIPTION)
    else:
        numbered = [f"{n}\\. {inline(s)}" for n, s in enumerate(sections, start=1)]
        embed.description = _fit_lines(numbered, EMBED_DESCRIPTION)
    embed.set_footer(
        text=f"{document.slug} · {source.get(document.source, document.source)} · "
        f"updated {document.updated_at:%Y-%m-%d}"
    )
    return embed


def gaps_embed(gaps: list[Gap], days: int) -> discord.Embed:
    embed = discord.Embed(
        title="What the knowledge base answers poorly",
        colour=discord.Colour.orange(),
    )
    if not gaps:
        embed.description = f"No weak answers, 👎 votes or escalations in the last {days} days."
        return embed
    lines = []
    for gap in gaps:
        signals = []
        if gap.weak:
            signals.append(f"weak match ×{gap.weak}")
        if gap.down_votes:
            signals.append(f"👎 ×{gap.down_votes}")
        if gap.escalations:
            signals.append(f"escalated ×{gap.escalations}")
        asked = f"asked {gap.asked}×" if gap.asked > 1 else "asked once"
        question = clip_escaped(gap.question, 300)
        lines.append(f"• “{question}”\n  {asked}; {', '.join(signals)}")
    embed.description = _fit_lines(lines, EMBED_DESCRIPTION)
    embed.set_footer(text=f"Last {days} days. Write these up with /kb add.")
    return embed


def usage_embed(report: UsageReport) -> discord.Embed:
    embed = discord.Embed(title="/ask usage, last 30 days", colour=discord.Colour.blurple())
    if report.days:
        rows = [f"{'day':<10} {'asked':>5} {'tokens':>9} {'cost $':>8}"]
        rows += [
            f"{d.day.isoformat():<10} {d.questions:>5} {d.tokens:>9,} {d.cost:>8.4f}"
            for d in report.days
        ]
        embed.description = "```\n" + "\n".join(rows) + "\n```"
    else:
        embed.description = "No questions asked in the last 30 days."
    ratio = report.feedback_ratio
    feedback = (
        "no votes yet"
        if ratio is None
        else f"{ratio:.0%} helpful (👍 {report.up_votes} / 👎 {report.down_votes})"
    )
    limits = report.limits
    embed.add_field(
        name="Totals",
        value=f"{report.questions} questions, {report.tokens:,} tokens, "
        f"about ${report.cost:.2f}\n{report.cached} from cache, {report.failed} failed",
        inline=False,
    )
    embed.add_field(name="Feedback", value=feedback, inline=False)
    embed.add_field(
        name="Limits",
        value=f"{limits.rate_count} questions per {limits.rate_window_minutes} min per member\n"
        f"Member: {budget_text(limits.member)} a day\n"
        f"Server: {budget_text(limits.guild)} a day "
        f"({report.used_today:,} used today)",
        inline=False,
    )
    embed.set_footer(text="Cost is an estimate from QA_COST_PER_1K_TOKENS.")
    return embed


def _tokens(value: int) -> str:
    return "no limit" if value == 0 else f"{value:,} tokens"


def budget_text(budget: Budget) -> str:
    """The budget in force and why: the operator's ceiling or this server's lower choice."""
    if budget.chosen is None:
        why = "the operator's limit" if budget.ceiling else "the operator set none"
        return f"{_tokens(budget.in_force)} ({why})"
    if budget.capped:
        return (
            f"{_tokens(budget.in_force)} (the operator's limit; this server chose "
            f"{_tokens(budget.chosen)}, more than the operator allows)"
        )
    allows = f"; the operator allows up to {budget.ceiling:,}" if budget.ceiling else ""
    return f"{_tokens(budget.in_force)} (this server's choice{allows})"
