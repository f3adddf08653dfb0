"""Split long text into Discord messages without breaking words or code blocks.

Cuts fall at a paragraph break if one is near the limit, else a line break, else a space;
a word longer than a whole message is the only thing ever cut in the middle. A cut inside a
``` code block closes the block at the end of one message and reopens it, with the same
language, at the start of the next.
"""

from __future__ import annotations

import re

from bot.discord_limits import MESSAGE

FENCE = re.compile(r"^[ \t]*(```|~~~)(.*)$", re.MULTILINE)
CLOSE_RESERVE = 4  # "\n```"
MAX_LANGUAGE = 20


def split_message(text: str, limit: int = MESSAGE) -> list[str]:
    """Pieces of `text`, each at most `limit` characters, in order."""
    if limit < 40:
        raise ValueError("limit too small to split sensibly")
    text = text.strip("\n")
    pieces: list[str] = []
    reopen = ""
    while text:
        if reopen:
            text = f"{reopen}\n{text}"
        if len(text) <= limit:
            pieces.append(text.rstrip())
            break
        cut = _cut(text, limit - CLOSE_RESERVE)
        head, text = text[:cut].rstrip(), text[cut:]
        fence = _open_fence(head)
        if fence is not None:
            head = f"{head}\n{fence[0]}"
            reopen = fence[0] + fence[1]
            text = text.lstrip("\n")
        else:
            reopen = ""
            text = text.lstrip()
        if head.strip():
            pieces.append(head)
    return pieces


def _open_fence(text: str) -> tuple[str, str] | None:
    """(marker, language) of a code block left open at the end of `text`, or None."""
    opened: tuple[str, str] | None = None
    for match in FENCE.finditer(text):
        marker, rest = match.group(1), match.group(2).strip()
        if opened is None:
            opened = (marker, rest.split()[0][:MAX_LANGUAGE] if rest else "")
        elif marker == opened[0] and not rest:
            opened = None
    return opened


def _cut(text: str, budget: int) -> int:
    """Where to end the next piece: the best boundary at or before `budget`."""
    window = text[: budget + 1]
    floor = budget // 2
    fence_start = _last_fence_opening(window)
    if fence_start is not None and fence_start >= floor:
        return fence_start
    for boundary in ("\n\n", "\n", " "):
        at = window.rfind(boundary, floor)
        if at > 0:
            return at
    return budget


def _last_fence_opening(window: str) -> int | None:
    """Start of the last line that opens a code block inside `window`, if any."""
    last = None
    depth: tuple[str, str] | None = None
    for match in FENCE.finditer(window):
        if depth is None:
            depth = (match.group(1), match.group(2))
            last = match.start()
        elif match.group(1) == depth[0] and not match.group(2).strip():
            depth = None
    return last if depth is not None else None
