"""Full-text search of the knowledge base's passages, in each engine's own way.

The Q&A service decides which terms to search for and what to do with the passages; this is
only how an engine finds and scores them, the one place where the dialects must differ:

- SQLite: the FTS5 table `qa_chunks_fts` (porter stemmer; bm25 with the section heading
  weighing twice the title and text), a server's scope filtered inside the match;
- PostgreSQL: the `search` tsvector column of `qa_chunks` with its GIN index (English
  stemmer; section weight A, title and text B), `websearch_to_tsquery`, and `ts_rank_cd`
  with the same 2:1 weighting, length-normalised.

Terms are plain words (only word characters: `bot.services.qa.fts.query_terms`), so each
is safe to quote. Scores are higher-is-better on both; their scale differs by engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.db.base import Database, Row

PASSAGE_COLUMNS = "c.id, c.title, c.section, c.body, d.slug, d.source"


class TextSearch(ABC):
    def __init__(self, db: Database) -> None:
        self.db = db

    @abstractmethod
    async def passage_counts(self, terms: list[str]) -> list[int]:
        """How many passages (of any server) contain each term."""

    @abstractmethod
    async def best_passages(self, terms: list[str], scopes: list[str], limit: int) -> list[Row]:
        """The `limit` best passages holding any of `terms` in `scopes`, best first:
        rows of `PASSAGE_COLUMNS` and `score`."""


def _quoted(terms: list[str]) -> str:
    return " OR ".join(f'"{term}"' for term in terms)


class SqliteTextSearch(TextSearch):
    async def passage_counts(self, terms: list[str]) -> list[int]:
        counts = await self.db.fetch_one(
            "SELECT "
            + ", ".join(
                "(SELECT count(*) FROM qa_chunks_fts WHERE qa_chunks_fts MATCH ?)" for _ in terms
            ),
            [_quoted([t]) for t in terms],
        )
        return list(counts) if counts else []

    async def best_passages(self, terms: list[str], scopes: list[str], limit: int) -> list[Row]:
        scope = " OR ".join(f'"{s}"' for s in scopes)
        return await self.db.fetch_all(
            f"SELECT {PASSAGE_COLUMNS}, -hit.rank AS score "
            "FROM (SELECT rowid, rank FROM qa_chunks_fts WHERE qa_chunks_fts MATCH ? "
            "      ORDER BY rank LIMIT ?) AS hit "
            "JOIN qa_chunks c ON c.id = hit.rowid "
            "JOIN qa_documents d ON d.id = c.document_id "
            "ORDER BY hit.rank",
            (f"({_quoted(terms)}) AND scope : ({scope})", limit),
        )


class PostgresTextSearch(TextSearch):
    # Weights of D, C, B, A: the section heading (A) weighs twice the title and text (B).
    # Normalisation 1 divides by 1 + log(length): long passages do not win on length alone.
    RANK = "ts_rank_cd('{0.1, 0.2, 0.5, 1.0}', c.search, q.query, 1)"

    async def passage_counts(self, terms: list[str]) -> list[int]:
        counts = await self.db.fetch_one(
            "SELECT "
            + ", ".join(
                "(SELECT count(*) FROM qa_chunks "
                "WHERE search @@ websearch_to_tsquery('english', ?))"
                for _ in terms
            ),
            [f'"{t}"' for t in terms],
        )
        return list(counts) if counts else []

    async def best_passages(self, terms: list[str], scopes: list[str], limit: int) -> list[Row]:
        marks = ", ".join("?" for _ in scopes)
        return await self.db.fetch_all(
            f"SELECT {PASSAGE_COLUMNS}, {self.RANK} AS score "
            "FROM websearch_to_tsquery('english', ?) AS q (query) "
            "JOIN qa_chunks c ON c.search @@ q.query "
            "JOIN qa_documents d ON d.id = c.document_id "
            f"WHERE c.scope IN ({marks}) ORDER BY score DESC, c.id LIMIT ?",
            (_quoted(terms).replace('" OR "', '" or "'), *scopes, limit),
        )
