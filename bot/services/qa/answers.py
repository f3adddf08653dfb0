"""Answers built without a model: quoted excerpts, hint pointers, citations, notes."""

from __future__ import annotations

from collections.abc import Sequence

from bot.services.contracts import OpenChallenge
from bot.services.qa.models import Citation
from bot.services.qa.prompt import REFUSAL, leaks_instructions
from bot.services.qa.retrieval import Passage

EXCERPT_CHARS = 450
QUOTA_NOTE = (
    "The AI model's usage quota has run out, so this answer is excerpts from the "
    "knowledge base. The moderators have been told."
)
NOT_COVERED = (
    "The knowledge base doesn't cover this yet. Press **Ask a mentor** to ask the people "
    "of this server."
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


def excerpts(passages: Sequence[Passage], covered: bool) -> str:
    """The passages themselves, quoted and numbered, labelled as excerpts."""
    if not passages:
        return NOT_COVERED
    if covered:
        heading = "**Excerpts from the knowledge base** (quoted as written, not an AI answer):"
    else:
        heading = (
            "The knowledge base doesn't seem to cover this well. **The closest excerpts** "
            "(quoted as written, not an AI answer) may not answer it; press **Ask a mentor** "
            "to ask the people of this server."
        )
    blocks = [heading]
    for number, passage in enumerate(passages, start=1):
        quoted = f"> {clip_words(passage.text, EXCERPT_CHARS)}"
        blocks.append(f"**[{number}] {passage.title} › {passage.section}**\n{quoted}")
    return "\n\n".join(blocks)


def hint_pointers(challenge: OpenChallenge, passages: Sequence[Passage]) -> str:
    """Where to look, not what the answer is: for a question about an open challenge."""
    lead = (
        f'This looks like it\'s about the open {challenge.kind} challenge "{challenge.title}", '
        "so I won't answer it outright while it's running."
    )
    if not passages:
        return f"{lead} Have another go at it; you can ask me about it once it closes."
    pointers = "\n".join(
        f"- [{n}] {p.title} › {p.section}" for n, p in enumerate(passages, start=1)
    )
    return f"{lead} A hint: these parts of the knowledge base are worth reading:\n{pointers}"
