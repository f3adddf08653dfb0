"""Member text inside the bot's Markdown: escaped, never a link, a heading or a ping."""

from __future__ import annotations

import re

import pytest

from bot.markdown import clip_escaped, escape, inline, plain_links
from tests.markdown_render import line_markers, live_links

HOSTILE_TITLE = "x](https://evil.example/login) [Reviewers: verify here"


@pytest.mark.parametrize(
    "text",
    [
        HOSTILE_TITLE,
        "[Verify your account](https://evil.example/login)",
        "see [here](<https://evil.example>) now",
        "\\[escaped by the member](https://evil.example)",
        "[a](https://evil.example/(x))",
    ],
)
def test_escaped_member_text_makes_no_link_even_inside_the_bots_own(text: str) -> None:
    assert live_links(escape(text)) == []
    # The bot links its own label and puts member text after it, never inside it.
    line = f"[#5](https://discord.com/channels/1/2/3) {inline(text)}"
    assert live_links(line) == [("#5", "https://discord.com/channels/1/2/3")]


def test_formatting_mentions_and_block_markers_are_shown_as_typed() -> None:
    text = "# Title\n> quoted\n- item\n1. first\n**bold** `code` ||spoiler|| <@123> @everyone"
    shown = escape(text)
    assert line_markers(shown) == []
    unescaped = re.compile(r"(?<!\\)[*`|<]")
    assert unescaped.findall(shown) == []
    assert "@everyone" not in shown
    assert line_markers(inline("a\n# heading")) == [] and "\n" not in inline("a\n# heading")


def test_urls_stay_usable_links_but_cannot_close_anything() -> None:
    shown = escape("my repo: https://github.com/a/my_repo_(v2) done")
    assert "https://github.com/a/my_repo_%28v2%29" in shown
    assert "\\_" not in shown.split("https://")[1]  # no escapes inside the URL


def test_clipping_never_leaves_half_an_escape() -> None:
    for limit in range(5, 40):
        shown = clip_escaped("*_[" * 30, limit)
        assert len(shown) <= limit
        assert not shown.rstrip("…").endswith("\\") or shown.rstrip("…").endswith("\\\\")


def test_model_links_are_unmasked_unless_trusted() -> None:
    answer = (
        "Read [the guide](https://docs.example.org/guide), then [log in here]"
        "(https://evil.example/login) or ask in [our channel](https://discord.com/channels/1/2)."
    )
    trusted = {"https://docs.example.org/guide"}
    shown = plain_links(
        answer, lambda url: url in trusted or url.startswith("https://discord.com/channels/1/")
    )
    assert live_links(shown) == [
        ("the guide", "https://docs.example.org/guide"),
        ("our channel", "https://discord.com/channels/1/2"),
    ]
    assert "log in here (https://evil.example/login)" in shown
