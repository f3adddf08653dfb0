"""Answers built without a model: the best passage, hint pointers, citations, notes."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.markdown import inline
from bot.services.contracts import OpenChallenge
from bot.services.qa.analysis import stems
from bot.services.qa.models import Citation
from bot.services.qa.prompt import REFUSAL, leaks_instructions
from bot.services.qa.query import Query, understand
from bot.services.qa.retrieval import Passage

LEAD_CHARS = 700  # the best passage, trimmed to the sentences that match the question
MORE_HEADING = "**More in the knowledge base**"
GAP = "…"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(*])")
QUOTA_NOTE = (
    "The AI model's usage quota has run out, so this answer is excerpts from the "
    "knowledge base. The moderators have been told."
)
NOT_COVERED = (
    "I couldn't find this in the knowledge base. Press **Ask a mentor** to ask the people "
    "of this server, or ask again in other words."
)

__all__ = [
    "NOT_COVERED",
    "QUOTA_NOTE",
    "REFUSAL",
    "citations",
    "excerpts",
    "hint_pointers",
    "leaks",
]


def leaks(text: str) -> bool:
    return leaks_instructions(text)


def citations(
    passages: Sequence[Passage], numbers: Sequence[int] | None = None
) -> tuple[Citation, ...]:
    """Numbered sources; `numbers` keeps the numbers the answer used for its passages."""
    numbering = numbers or range(1, len(passages) + 1)
    return tuple(
        Citation(number=n, title=p.title, section=p.section, slug=p.slug)
        for n, p in zip(numbering, passages, strict=False)
    )


def clip_words(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary, marked with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.") + "…"


def excerpts(passages: Sequence[Passage], covered: bool, question: str) -> str:
    """The best passage, trimmed to the sentences that match the question, then the other
    passages by title; "I couldn't find this" when the passages don't cover the question."""
    if not passages or not covered:
        return NOT_COVERED
    best, rest = passages[0], passages[1:]
    lead = trim_to_matches(best.text, understand(question), LEAD_CHARS)
    quoted = "\n".join(f"> {line}" for line in lead.split("\n"))
    blocks = [f"**{inline(best.title)} › {inline(best.section)}** [1]\n{quoted}"]
    if rest:
        lines = [
            f"[{n}] {inline(p.title)} › {inline(p.section)}" for n, p in enumerate(rest, start=2)
        ]
        blocks.append(MORE_HEADING + "\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def units(text: str) -> list[str]:
    """Sentences of prose; list items and table rows stay whole lines."""
    found: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in paragraph.split("\n") if line.strip()]
        if any(re.match(r"^(\||[-*•]\s|\d+[.)]\s)", line) for line in lines):
            found.extend(line for line in lines if not re.fullmatch(r"[|\-\s:]+", line))
        else:
            found.extend(SENTENCE_END.split(" ".join(lines)))
    return [u for u in found if u]


def trim_to_matches(text: str, query: Query, limit: int) -> str:
    """The sentences of `text` that match the question's concepts, in their order, best
    first when they don't all fit in `limit` characters; the opening when none match.
    Left-out stretches are marked with an ellipsis."""
    parts = units(text)
    keys = [[a.key for a in concept.alternatives] for concept in query.concepts]
    scores = [_matches(part, keys) for part in parts]
    ranked = sorted(range(len(parts)), key=lambda i: (-scores[i], i))
    if not any(scores):
        ranked = list(range(len(parts)))
    kept: list[int] = []
    used = 0
    for index in ranked:
        if scores[index] == 0 and any(scores):
            break
        if kept and used + len(parts[index]) > limit:
            continue
        kept.append(index)
        used += len(parts[index]) + 1
    table_heads = {_table_head(parts, index) for index in kept if parts[index].startswith("|")}
    kept = sorted(set(kept) | table_heads)
    pieces: list[str] = []
    for position, index in enumerate(kept):
        if (position == 0 and index > 0) or (position > 0 and index != kept[position - 1] + 1):
            pieces.append(GAP)
        pieces.append(clip_words(parts[index], limit))
    if kept and kept[-1] != len(parts) - 1:
        pieces.append(GAP)
    return _join(pieces)


def _table_head(parts: list[str], index: int) -> int:
    """The first row of the table that row `index` belongs to."""
    while index > 0 and parts[index - 1].startswith("|"):
        index -= 1
    return index


def _matches(sentence: str, keys: list[list[tuple[str, ...]]]) -> int:
    found = stems(sentence)
    joined = f" {' '.join(found)} "
    return sum(
        1 for alternatives in keys if any(f" {' '.join(k)} " in joined for k in alternatives)
    )


def _join(pieces: list[str]) -> str:
    """Table rows and list items keep their own lines; sentences run on."""
    text = ""
    for piece in pieces:
        line_like = piece.startswith(("|", "-", "*", "•")) or bool(re.match(r"\d+[.)]\s", piece))
        if not text:
            text = piece
        elif line_like or text.endswith("|"):
            text += "\n" + piece
        else:
            text += " " + piece
    return text


def hint_pointers(challenge: OpenChallenge, passages: Sequence[Passage]) -> str:
    """Where to look, not what the answer is: for a question about an open challenge."""
    lead = (
        f"This looks like it's about the open {challenge.kind} challenge "
        f"\"{inline(challenge.title)}\", so I won't answer it outright while it's running."
    )
    if not passages:
        return f"{lead} Have another go at it; you can ask me about it once it closes."
    pointers = "\n".join(
        f"- [{n}] {inline(p.title)} › {inline(p.section)}" for n, p in enumerate(passages, start=1)
    )
    return f"{lead} A hint: these parts of the knowledge base are worth reading:\n{pointers}"
