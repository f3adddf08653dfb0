"""DATABASE_URL: which engine, and where.

- unset: SQLite at DATABASE_PATH (default `data/mentor.db`);
- `sqlite:///relative/path.db` or `sqlite:////absolute/path.db`: SQLite at that path;
- `postgresql://user:password@host:port/database` (or `postgres://`): PostgreSQL. Query
  parameters asyncpg understands (`sslmode=require`, `host=/run/postgresql` for a Unix
  socket) pass through.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

EXAMPLES = "sqlite:///data/mentor.db or postgresql://user:password@host:5432/mentor"


class BadDatabaseUrl(ValueError):
    """DATABASE_URL cannot be used; the message says why and what it should look like."""


@dataclass(frozen=True)
class SqliteTarget:
    path: Path


@dataclass(frozen=True)
class PostgresTarget:
    dsn: str

    @property
    def password(self) -> str | None:
        return urlsplit(self.dsn).password

    @property
    def shown(self) -> str:
        """The URL without its password, for messages and logs."""
        parts = urlsplit(self.dsn)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit((parts.scheme, f"{user}{host}", parts.path, "", ""))


def parse_database_url(url: str) -> SqliteTarget | PostgresTarget:
    """Raise `BadDatabaseUrl` with a short reason when `url` is not usable."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise BadDatabaseUrl(f"expected a URL like {EXAMPLES}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        if not rest.startswith("/") or len(rest) < 2:
            raise BadDatabaseUrl("a SQLite URL is sqlite:///relative/file.db or sqlite:////abs.db")
        return SqliteTarget(Path(rest[1:]))
    if scheme in ("postgresql", "postgres"):
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError as exc:
            raise BadDatabaseUrl(f"{exc}; expected {EXAMPLES}") from None
        if not parts.path.strip("/"):
            raise BadDatabaseUrl("name the database after the host: postgresql://.../mentor")
        if not parts.hostname and "host=" not in parts.query:
            raise BadDatabaseUrl("name the server: postgresql://user:password@host:5432/mentor")
        return PostgresTarget(text)
    raise BadDatabaseUrl(f"unknown engine '{scheme}'; expected {EXAMPLES}")
