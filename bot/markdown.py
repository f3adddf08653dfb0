"""Text from members (and from the model) inside the bot's own Discord Markdown.

Discord renders Markdown in message content, embed descriptions and field values. Member
text put there unescaped can close the bot's formatting and write its own: a portfolio
title like ``x](https://evil.example/login) [Reviewers: verify here`` inside the bot's
``[#5 {title}](...)`` becomes a live link to another site. So:

- `escape` shows member text exactly as typed: every Markdown character is escaped, links
  stay plain URLs (their brackets and parentheses percent-encoded, so they can neither
  end a link the bot wrote nor start one), and mentions cannot ping or even look live;
- `inline` does the same for text that sits inside a line of the bot's (one line, no
  newlines to start a heading or a quote);
- `plain_links` keeps the model's own Markdown but turns masked links (``[text](url)``)
  into plain text and a visible URL, unless the URL is one the caller allows (the
  knowledge base's own links, this Discord server's).

Nothing here imports discord: services use it too. Places that Discord shows as plain text
(embed titles' neighbours: author names, footers; thread names, button labels, choices)
take member text as it is, without escapes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

URL = re.compile(r"<?(https?://[^\s<>]+)>?")
# Characters that format wherever they are (< starts mentions, emoji and timestamps).
INLINE = re.compile(r"([\\*_~`|\[\]<])")
# Markers that format only at the start of a line: headings and subtext, quotes, lists.
LINE_START = re.compile(r"^(\s*)(#|>|-|\+|\d+(?=\.))", re.MULTILINE)
BROADCAST = re.compile(r"@(everyone|here)", re.IGNORECASE)
# [label](url "title") with a plain or <bracketed> http(s) URL.
MASKED_LINK = re.compile(
    r"\[(?P<label>[^\[\]\n]{0,500})\]\(\s*<?(?P<url>https?://[^\s<>()]+(?:\([^\s<>()]*\))?)>?"
    r"(?:\s+\"[^\"\n]*\")?\s*\)"
)
URL_UNSAFE = {"[": "%5B", "]": "%5D", "(": "%28", ")": "%29", "\\": "%5C", "`": "%60"}
ZERO_WIDTH = "\u200b"


def _safe_url(url: str) -> str:
    return "".join(URL_UNSAFE.get(ch, ch) for ch in url)


def _escape_markup(text: str) -> str:
    text = INLINE.sub(r"\\\1", text)
    # "1." becomes "1\." (its dot escaped); the other markers are escaped themselves. A
    # marker escaped where it would not have formatted anyway still shows as typed.
    return LINE_START.sub(
        lambda m: (
            m.group(1) + (m.group(2) + "\\" if m.group(2)[0].isdigit() else "\\" + m.group(2))
        ),
        text,
    )


def escape(text: str) -> str:
    """Member text shown exactly as typed inside the bot's Markdown (newlines kept)."""
    pieces: list[str] = []
    position = 0
    for match in URL.finditer(text):
        pieces.append(_escape_markup(text[position : match.start()]))
        # URLs stay whole (an escape inside would end up in the link), made inert.
        pieces.append(match.group(0).replace(match.group(1), _safe_url(match.group(1))))
        position = match.end()
    pieces.append(_escape_markup(text[position:]))
    return BROADCAST.sub(f"@{ZERO_WIDTH}\\1", "".join(pieces))


def inline(text: str) -> str:
    """Member text inside one line of the bot's: whitespace (newlines too) collapsed."""
    return escape(" ".join(text.split()))


def clip_escaped(text: str, limit: int, *, one_line: bool = True) -> str:
    """`inline` (or `escape`) of `text`, cut so the result fits in `limit` characters; an
    escape is never cut in half."""
    render: Callable[[str], str] = inline if one_line else escape
    shown = render(text)
    if len(shown) <= limit:
        return shown
    cut = len(text)
    while cut > 0:
        cut = min(cut - 1, cut * limit // max(len(shown), 1))
        shown = render(text[:cut].rstrip()) + "…"
        if len(shown) <= limit:
            return shown
    return "…"


def defang(text: str) -> str:
    """Make @everyone and @here inert even to the eye (mentions are off anyway)."""
    return BROADCAST.sub(f"@{ZERO_WIDTH}\\1", text)


def plain_links(text: str, allowed: Callable[[str], bool]) -> str:
    """Turn masked links whose URL is not `allowed` into 'label (url)', shown as text."""

    def unmask(match: re.Match[str]) -> str:
        url = match.group("url")
        if allowed(url):
            return match.group(0)
        return f"{match.group('label')} ({_safe_url(url)})"

    return MASKED_LINK.sub(unmask, text)


def urls_in(text: str) -> set[str]:
    """Every http(s) URL in `text` (trailing punctuation left out)."""
    return {m.group(1).rstrip(".,;:!?)]'\"") for m in URL.finditer(text)}
