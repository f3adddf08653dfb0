"""The one policy for links members submit (portfolio projects, challenge answers): http(s)
to a real, public host, nothing else, at most LINK_MAX_CHARS long."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

from bot.errors import DomainError

LINK_MAX_CHARS = 300
# Names that never reach the public internet.
PRIVATE_SUFFIXES = (
    "localhost",
    "local",
    "internal",
    "intranet",
    "lan",
    "home",
    "corp",
    "test",
    "invalid",
    "example",
    "onion",
    "home.arpa",
)
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TOP_LEVEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# ASCII allowed by RFC 3986 (with '%' escapes); other ASCII (spaces, quotes, <>, `) is
# refused. Letters of other scripts are fine (internationalised names and paths).
URL_ASCII = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)


def check_link(text: str, *, label: str) -> str:
    """The link, normalised (scheme and host lower case), or a DomainError saying why not."""
    raw = (text or "").strip()
    if not raw:
        raise DomainError(f"{label}: paste a link that starts with https://.")
    if len(raw) > LINK_MAX_CHARS:
        raise DomainError(f"{label}: the link is {len(raw)} characters; {LINK_MAX_CHARS} at most.")
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme[:20]}:'" if scheme else "none"
        raise DomainError(
            f"{label}: only http:// and https:// links are accepted (its scheme: {shown})."
        )
    if not all(_allowed(ch) for ch in raw):
        raise DomainError(
            f"{label}: the link contains spaces or characters a web address cannot have."
        )
    if parts.username is not None or parts.password is not None:
        raise DomainError(f"{label}: remove the user name or password from the link.")
    try:
        port = parts.port
    except ValueError:
        raise DomainError(f"{label}: the link has an invalid port.") from None
    host = _check_host(parts.hostname or "", label)
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def _allowed(ch: str) -> bool:
    if ch.isascii():
        return ch in URL_ASCII
    return unicodedata.category(ch)[0] not in "ZC"


def _check_host(host: str, label: str) -> str:
    host = host.rstrip(".").lower()
    if not host:
        raise DomainError(f"{label}: the link has no host name.")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if not address.is_global:
            raise DomainError(f"{label}: the link points to a private or local address.")
        return f"[{host}]" if address.version == 6 else host
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise DomainError(f"{label}: '{host[:60]}' is not a valid host name.") from None
    labels = ascii_host.split(".")
    if len(labels) < 2:
        raise DomainError(
            f"{label}: '{host[:60]}' is not a public host name (it needs a dot, like github.com)."
        )
    if not all(LABEL.match(part) for part in labels) or not TOP_LEVEL.match(labels[-1]):
        raise DomainError(f"{label}: '{host[:60]}' is not a valid host name.")
    if any(ascii_host == s or ascii_host.endswith("." + s) for s in PRIVATE_SUFFIXES):
        raise DomainError(f"{label}: '{host[:60]}' is a local name others cannot open.")
    return ascii_host
