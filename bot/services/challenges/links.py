"""Checking the links members submit: http(s) only, nothing that runs or embeds code."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.errors import DomainError

LINK_MAX = 500


def clean_link(text: str) -> str:
    """The link, trimmed, or a member-facing error for anything but a plain http(s) URL."""
    link = (text or "").strip()
    if len(link) > LINK_MAX:
        raise DomainError(f"That link is {len(link)} characters; the limit is {LINK_MAX}.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in link):
        raise DomainError("A link cannot contain spaces or control characters.")
    try:
        parts = urlsplit(link)
    except ValueError:
        raise DomainError("That is not a valid link: use a full https:// address.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise DomainError(
            "Only http:// and https:// links are accepted (for example a GitHub URL)."
        )
    if not parts.hostname or ("." not in parts.hostname and parts.hostname != "localhost"):
        raise DomainError("That link has no proper host name: use a full https:// address.")
    return link
