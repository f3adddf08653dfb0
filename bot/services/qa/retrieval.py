"""Retrieval: a question in, the passages that answer it out, best first.

understand the question (query.py) -> candidates and scoped statistics from the engine
(fts.py on SQLite) -> BM25F over title, heading and text (ranking.py) -> with embeddings
configured, fused with the nearest passages by meaning (vectors.py) -> coverage, which says
whether the passages answer the question at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.db import Database, Params, Transaction
from bot.services.qa.query import Query, understand
from bot.services.qa.ranking import (
    Candidate,
    ScopeStats,
    Scored,
    coverage,
    fuse,
    score_candidates,
)
from bot.services.qa.vocabulary import Vocabulary, load_vocabulary

if TYPE_CHECKING:
    from bot.services.qa.vectors import VectorSearch

SHIPPED_GUILD = 0
# Candidates scored per question: the passages holding its rarest terms, up to this many.
POOL_ROWS = 80
STATS_CACHE_SIZE = 4096


class TextSearch(Protocol):
    """What an engine supplies: scoped statistics and candidate passages (see fts.py), and
    keeping its index in step when the knowledge base writes passages (fts_writes.py)."""

    async def scope_stats(self, guild_id: int) -> ScopeStats: ...

    async def document_frequencies(self, guild_id: int, texts: list[str]) -> dict[str, int]: ...

    async def candidates(
        self, guild_id: int, texts: list[str], limit: int, *, ranked: bool
    ) -> list[Candidate]: ...

    async def forget_removed(self) -> None: ...

    async def index_passages(self, conn: Transaction, which: str, params: Params) -> None: ...

    async def unindex_passages(self, conn: Transaction, which: str, params: Params) -> None: ...


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    slug: str
    title: str
    section: str
    text: str
    score: float
    source: str


@dataclass(frozen=True)
class Retrieval:
    """The passages found for a question, best first.

    `coverage` is the share of the question the passages cover (see ranking.coverage);
    `similar` says the nearest passage by meaning passed the similarity bar.
    """

    query: Query
    passages: tuple[Passage, ...]
    coverage: float
    similar: bool = False
    semantic: bool = False  # embeddings took part in the ranking

    @property
    def top_score(self) -> float | None:
        return self.passages[0].score if self.passages else None

    def covers(self, min_coverage: float) -> bool:
        return bool(self.passages) and (self.coverage >= min_coverage or self.similar)


class Retriever:
    def __init__(
        self,
        db: Database,
        engine: TextSearch,
        *,
        vocabulary: Vocabulary | None = None,
        vectors: VectorSearch | None = None,
    ) -> None:
        self.db = db
        self.engine = engine
        self.vocabulary = vocabulary or load_vocabulary()
        self.vectors = vectors
        self._stats: dict[tuple[int, str], ScopeStats] = {}
        self._frequencies: dict[tuple[int, str, str], int] = {}

    async def versions(self, guild_id: int) -> tuple[int, int]:
        """(shipped documents' version, this server's): each changes with its documents."""
        rows = await self.db.fetch_all(
            "SELECT guild_id, version FROM qa_kb_versions WHERE guild_id IN (?, ?)",
            (SHIPPED_GUILD, guild_id),
        )
        versions = {row["guild_id"]: row["version"] for row in rows}
        return versions.get(SHIPPED_GUILD, 0), versions.get(guild_id, 0)

    async def version(self, guild_id: int) -> str:
        """Changes whenever the shipped documents or this server's documents change."""
        shipped, own = await self.versions(guild_id)
        return f"{shipped}.{own}"

    def forget(self) -> None:
        """Drop the cached statistics (they are also keyed by version, so never stale)."""
        self._stats.clear()
        self._frequencies.clear()

    async def search(self, guild_id: int, text: str, limit: int) -> Retrieval:
        """The best `limit` passages for `text` among the shipped and this server's."""
        query = understand(text, self.vocabulary)
        if query.empty:
            return Retrieval(query, (), 0.0)
        versions = await self.versions(guild_id)
        version = f"{versions[0]}.{versions[1]}"
        stats = await self._scope_stats(guild_id, version)
        frequencies = await self._document_frequencies(guild_id, version, query.texts())
        lexical = await self._lexical(guild_id, query, frequencies, stats)
        scored = lexical[:limit]
        similar = semantic = False
        if self.vectors is not None:
            nearest = await self.vectors.nearest(guild_id, versions, text, limit * 2)
            if nearest is not None:
                semantic = True
                similar = nearest.similar
                scored = await self._fused(query, lexical, nearest.chunk_ids, frequencies, stats)
                scored = scored[:limit]
        passages = tuple(_passage(s) for s in scored)
        share = coverage(query, [s.matched for s in scored], frequencies, stats.chunks)
        return Retrieval(query, passages, share, similar, semantic)

    async def _lexical(
        self, guild_id: int, query: Query, frequencies: dict[str, int], stats: ScopeStats
    ) -> list[Scored]:
        chosen, overflow = choose_pool(query.texts(), frequencies, POOL_ROWS)
        if not chosen:
            return []
        candidates = await self.engine.candidates(guild_id, chosen, POOL_ROWS, ranked=overflow)
        return score_candidates(query, candidates, frequencies, stats)

    async def _fused(
        self,
        query: Query,
        lexical: list[Scored],
        nearest: list[int],
        frequencies: dict[str, int],
        stats: ScopeStats,
    ) -> list[Scored]:
        order = fuse([[s.candidate.chunk_id for s in lexical], nearest])[: len(nearest)]
        known = {s.candidate.chunk_id: s for s in lexical}
        missing = [chunk_id for chunk_id, _ in order if chunk_id not in known]
        if missing:
            fetched = await self._candidates_by_id(missing)
            for item in score_candidates(query, fetched, frequencies, stats, keep_all=True):
                known[item.candidate.chunk_id] = item
        return [
            Scored(known[chunk_id].candidate, score, known[chunk_id].matched)
            for chunk_id, score in order
            if chunk_id in known
        ]

    async def _candidates_by_id(self, ids: list[int]) -> list[Candidate]:
        marks = ", ".join("?" for _ in ids)
        rows = await self.db.fetch_all(
            "SELECT c.id, c.title, c.section, c.body, d.slug, d.source FROM qa_chunks c"
            f" JOIN qa_documents d ON d.id = c.document_id WHERE c.id IN ({marks})",
            ids,
        )
        return [
            Candidate(r["id"], r["slug"], r["title"], r["section"], r["body"], r["source"])
            for r in rows
        ]

    async def _scope_stats(self, guild_id: int, version: str) -> ScopeStats:
        key = (guild_id, version)
        stats = self._stats.get(key)
        if stats is None:
            if len(self._stats) >= STATS_CACHE_SIZE:
                self._stats.clear()
            stats = self._stats[key] = await self.engine.scope_stats(guild_id)
        return stats

    async def _document_frequencies(
        self, guild_id: int, version: str, texts: list[str]
    ) -> dict[str, int]:
        missing = [t for t in texts if (guild_id, version, t) not in self._frequencies]
        if missing:
            if len(self._frequencies) + len(missing) > STATS_CACHE_SIZE:
                self._frequencies.clear()
            counted = await self.engine.document_frequencies(guild_id, missing)
            for text, count in counted.items():
                self._frequencies[(guild_id, version, text)] = count
        return {t: self._frequencies.get((guild_id, version, t), 0) for t in texts}


def choose_pool(
    texts: list[str], frequencies: dict[str, int], budget: int
) -> tuple[list[str], bool]:
    """The alternatives whose passages are scored: rarest first while their document
    frequencies add up to `budget` rows (the rarest always stays). The second value says
    the rarest alone has more rows than that, so the engine must pick the best of them."""
    chosen: list[str] = []
    total = 0
    for df, text in sorted((frequencies.get(t, 0), t) for t in texts):
        if df == 0:
            continue
        if chosen and total + df > budget:
            break
        chosen.append(text)
        total += df
    return chosen, total > budget


def _passage(scored: Scored) -> Passage:
    c = scored.candidate
    return Passage(c.chunk_id, c.slug, c.title, c.section, c.body, scored.score, c.source)
