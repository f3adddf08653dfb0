"""What Discord would make of Markdown, as far as the injection tests need to know.

`live_links` finds the masked links a reader would see as links: `[label](http...)` whose
`[` is not escaped by a backslash. `line_markers` finds lines that would render as a
heading, a quote or a list.
"""

from __future__ import annotations

import re

LINE_MARKER = re.compile(r"^\s*(#{1,3} |-# |> |>>> |[-*+] |\d+\. )", re.MULTILINE)


def live_links(text: str) -> list[tuple[str, str]]:
    """(label, url) of every masked link Discord would render in `text`."""
    found = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and not text[index + 1].isalnum():
            index += 2  # an escaped character is plain text
            continue
        if char == "[":
            end = _closing(text, index + 1)
            if end is not None and text.startswith("(http", end + 1):
                close = text.find(")", end + 2)
                if close != -1:
                    found.append((text[index + 1 : end], text[end + 2 : close]))
                    index = close + 1
                    continue
        index += 1
    return found


def _closing(text: str, start: int) -> int | None:
    index = start
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] == "[":
            return None
        if text[index] == "]":
            return index
        index += 1
    return None


def line_markers(text: str) -> list[str]:
    return [m.group(1) for m in LINE_MARKER.finditer(text)]
