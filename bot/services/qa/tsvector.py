"""The PostgreSQL engine's full-text candidate search: the twin of fts.py (FTS5 on SQLite),
supplying the same three queries to the retriever, which ranks in plain Python on both.

Passages carry a `search` tsvector (migrations/postgres/0005_qa.sql: English stemming; the
section heading weighs A, the title and text B) with a GIN index. Each alternative is a
quoted phrase of word characters (bot/services/qa/analysis.py) handed to
`websearch_to_tsquery`, so member text never reaches tsquery syntax; when there are more
matches than wanted, `ts_rank_cd` picks the best (the heading counting twice, and long
passages divided by the log of their length). Scoped to the shipped documents and the
asking server's, as on SQLite: the vector holds a lexeme for its passage's scope
(migration 0016), and the query is ANDed with the two allowed ones, so the GIN index
leaves other servers' passages out in the same scan. A phrase of stop words only makes an
empty query, which matches nothing (`numnode` guards the AND, which would otherwise be
the scope alone).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.db import Params, Transaction
from bot.services.qa.fts import COUNT_BATCH, SHIPPED_SCOPE, Fts5Search, scope_token
from bot.services.qa.ranking import Candidate

RANK = "ts_rank_cd('{0.1, 0.2, 0.5, 1.0}', c.search, q.query, 1)"
# The member's query, and the scopes a search may see (a tsquery, see scope_query).
MATCH = "c.search @@ (q.query && CAST(? AS tsquery)) AND numnode(q.query) > 0"


def scope_query(guild_id: int) -> str:
    """The shipped documents' scope lexeme or the server's, as tsquery text."""
    return f"'scope {SHIPPED_SCOPE}' | 'scope {scope_token(guild_id)}'"


def web_query(texts: Sequence[str]) -> str:
    """`"a" or "b c"`: phrases `websearch_to_tsquery` reads as an OR of phrases."""
    return " or ".join('"' + t.replace('"', "") + '"' for t in texts)


class TsvectorSearch(Fts5Search):
    """Candidate passages and scoped statistics from the tsvector index of qa_chunks
    (`scope_stats` is inherited: the same portable SQL as on SQLite)."""

    async def document_frequencies(self, guild_id: int, texts: Sequence[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        scopes = scope_query(guild_id)
        for start in range(0, len(texts), COUNT_BATCH):
            batch = list(texts[start : start + COUNT_BATCH])
            row = await self.db.fetch_one(
                "SELECT "
                + ", ".join(
                    "(SELECT count(*) FROM websearch_to_tsquery('english', ?) AS q (query)"
                    f" JOIN qa_chunks c ON {MATCH})"
                    for _ in batch
                ),
                [value for t in batch for value in (web_query([t]), scopes)],
            )
            counts.update(zip(batch, row or (), strict=True))
        return counts

    async def candidates(
        self, guild_id: int, texts: Sequence[str], limit: int, *, ranked: bool
    ) -> list[Candidate]:
        if not texts:
            return []
        order = f"ORDER BY {RANK} DESC, c.id " if ranked else ""
        rows = await self.db.fetch_all(
            "SELECT c.id, c.title, c.section, c.body, d.slug, d.source "
            "FROM websearch_to_tsquery('english', ?) AS q (query) "
            f"JOIN qa_chunks c ON {MATCH} "
            f"JOIN qa_documents d ON d.id = c.document_id {order}LIMIT ?",
            (web_query(texts), scope_query(guild_id), limit),
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

    async def index_passages(self, conn: Transaction, which: str, params: Params) -> None:
        """Nothing to write: the `search` column is generated from the row."""

    async def unindex_passages(self, conn: Transaction, which: str, params: Params) -> None:
        """Nothing to write: the `search` column goes with the row."""

    async def forget_removed(self) -> None:
        """Vacuum the passages, so removed rows (and their words) leave the table and index
        pages too (VACUUM runs outside a transaction: one statement on its own)."""
        await self.db.execute("VACUUM qa_chunks")
