"""The SQLite engine's full-text candidate search (FTS5): the only engine-specific SQL of
retrieval. Everything above it (query understanding, ranking, fusion, answers) is plain
Python, so another engine supplies these three queries and keeps the rest.

Member text never reaches FTS5's query syntax: every alternative is made of word
characters only (see bot/services/qa/analysis.py) and is passed as a quoted phrase, so
whatever a member types, the query is a plain OR of phrases. Each query is restricted to
the shipped documents (scope token g0) and the asking server's (g<guild id>).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.db import Database
from bot.services.qa.fts_writes import Fts5Writes
from bot.services.qa.ranking import Candidate, ScopeStats

SHIPPED_SCOPE = "g0"
# Document frequencies counted in one statement, at most this many at a time.
COUNT_BATCH = 50


def scope_token(guild_id: int) -> str:
    return f"g{int(guild_id)}"


def phrase(text: str) -> str:
    """A quoted FTS5 phrase; `text` holds only word characters and spaces."""
    return '"' + text.replace('"', "") + '"'


def match_expression(texts: Sequence[str]) -> str:
    """`"a" OR "b c" ...`."""
    return " OR ".join(phrase(t) for t in texts)


def scope_filter(guild_id: int) -> str:
    return f'scope : ("{SHIPPED_SCOPE}" OR "{scope_token(guild_id)}")'


class Fts5Search(Fts5Writes):
    """Candidate passages and scoped statistics from the FTS5 index of qa_chunks, which
    the knowledge base keeps in step through `Fts5Writes`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def scope_stats(self, guild_id: int) -> ScopeStats:
        row = await self.db.fetch_one(
            "SELECT count(*), avg(length(title)), avg(length(section)), avg(length(body))"
            " FROM qa_chunks WHERE scope IN (?, ?)",
            (SHIPPED_SCOPE, scope_token(guild_id)),
        )
        if row is None or not row[0]:
            return ScopeStats(0, 1.0, 1.0, 1.0)
        return ScopeStats(row[0], row[1], row[2], row[3])

    async def document_frequencies(self, guild_id: int, texts: Sequence[str]) -> dict[str, int]:
        """How many of the server's searchable passages contain each phrase."""
        counts: dict[str, int] = {}
        scope = scope_filter(guild_id)
        for start in range(0, len(texts), COUNT_BATCH):
            batch = list(texts[start : start + COUNT_BATCH])
            row = await self.db.fetch_one(
                "SELECT "
                + ", ".join(
                    "(SELECT count(*) FROM qa_chunks_fts WHERE qa_chunks_fts MATCH ?)"
                    for _ in batch
                ),
                [f"{phrase(t)} AND {scope}" for t in batch],
            )
            counts.update(zip(batch, row or (), strict=True))
        return counts

    async def candidates(
        self, guild_id: int, texts: Sequence[str], limit: int, *, ranked: bool
    ) -> list[Candidate]:
        """Passages matching any of `texts`: all of them (at most `limit`), or, with
        `ranked`, the `limit` best by FTS5's own bm25 for when there are more."""
        if not texts:
            return []
        expression = f"({match_expression(texts)}) AND {scope_filter(guild_id)}"
        order = "ORDER BY rank " if ranked else ""
        rows = await self.db.fetch_all(
            "SELECT c.id, c.title, c.section, c.body, d.slug, d.source "
            f"FROM (SELECT rowid FROM qa_chunks_fts WHERE qa_chunks_fts MATCH ? {order}LIMIT ?)"
            " AS hit JOIN qa_chunks c ON c.id = hit.rowid "
            "JOIN qa_documents d ON d.id = c.document_id",
            (expression, limit),
        )
        return [
            Candidate(
                chunk_id=row["id"],
                slug=row["slug"],
                title=row["title"],
                section=row["section"],
                body=row["body"],
                source=row["source"],
            )
            for row in rows
        ]

    async def forget_removed(self) -> None:
        """Merge the index, so the words of removed passages leave its pages too."""
        await self.db.execute("INSERT INTO qa_chunks_fts (qa_chunks_fts) VALUES ('optimize')")
