"""Semantic retrieval: passage embeddings from an OpenAI-compatible API, nearest by cosine.

Vectors are computed in the background whenever the knowledge base changes, in batches
with progress in the log, and stored in `qa_vectors` under (model, content hash): a restart
or an unchanged re-upload recomputes nothing. A question is embedded once and kept in
memory (never stored). When that call fails or takes longer than
QA_EMBEDDING_TIMEOUT_SECONDS, the question is answered by full text alone, the fallback is
counted in /metrics, and questions skip the model for a short pause after a failure.

numpy does the ranking: brute force over every passage a server can search, which takes
about a millisecond for 10,000 passages of 384 dimensions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import openai
from openai import AsyncOpenAI

from bot.clock import Clock, to_db_time
from bot.db import Database
from bot.metrics import Metrics
from bot.services.qa.analysis import normalize_question
from bot.services.qa.documents import passage_hash, passage_text

log = logging.getLogger(__name__)

SHIPPED_GUILD = 0
QUERY_CACHE_SIZE = 1024
MATRIX_CACHE_SIZE = 64  # scopes (the shipped documents, one server's) held in memory
PAUSE_AFTER_FAILURE = timedelta(seconds=30)


class EmbeddingError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason  # "error" or "timeout"


@dataclass(frozen=True)
class Nearest:
    """Passages nearest to a question by meaning, best first."""

    chunk_ids: list[int]
    best: float  # cosine similarity of the nearest one
    similar: bool  # `best` reaches QA_EMBEDDING_MIN_SIMILARITY


class Embedder:
    """One embeddings model behind the `openai` client; vectors come back unit length."""

    def __init__(self, client: AsyncOpenAI, model: str, metrics: Metrics | None = None) -> None:
        self.client = client
        self.model = model
        self.metrics = metrics

    async def embed(self, texts: Sequence[str], *, kind: str, within: float | None) -> np.ndarray:
        """Embed `texts`; with `within`, one try that must finish in that many seconds."""
        client = self.client
        if within is not None:
            client = client.with_options(max_retries=0, timeout=within)
        try:
            async with asyncio.timeout(within):
                response = await client.embeddings.create(model=self.model, input=list(texts))
        except (TimeoutError, openai.APITimeoutError) as exc:
            self._count(kind, "timeout")
            raise EmbeddingError("timeout", f"{type(exc).__name__}") from exc
        except openai.OpenAIError as exc:
            self._count(kind, "error")
            raise EmbeddingError("error", f"{type(exc).__name__}: {str(exc)[:200]}") from exc
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(texts):
            self._count(kind, "error")
            raise EmbeddingError("error", f"{len(rows)} vectors for {len(texts)} texts")
        matrix = np.asarray([row.embedding for row in rows], dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] == 0:
            self._count(kind, "error")
            raise EmbeddingError("error", f"vectors of shape {matrix.shape}")
        self._count(kind, "ok")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1, norms)

    def _count(self, kind: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.embedding_requests.labels(kind=kind, outcome=outcome).inc()


class VectorSearch:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        embedder: Embedder,
        *,
        batch: int,
        timeout: float,
        min_similarity: float,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.embedder = embedder
        self.batch = batch
        self.timeout = timeout
        self.min_similarity = min_similarity
        self.metrics = metrics
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._matrices: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._generation = 0  # bumped whenever new vectors are stored
        self._paused_until: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False

    @property
    def model(self) -> str:
        return self.embedder.model

    # --- Indexing -------------------------------------------------------------------

    def schedule_refresh(self) -> None:
        """Embed what is missing, in the background; a change during a run runs it again."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._refresh_loop(), name="qa-embeddings")

    async def idle(self) -> None:
        """Wait until the background indexing (if any) has finished."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _refresh_loop(self) -> None:
        while True:
            self._again = False
            try:
                # In a shard cluster each process starts this; one embeds, the others then
                # find nothing missing.
                async with self.db.exclusively("qa-embeddings"):
                    await self.refresh()
            except EmbeddingError as exc:
                log.warning(
                    "Embeddings (%s): stopped, %s (%s); full-text search goes on, and the rest "
                    "is embedded at the next knowledge-base change or restart",
                    self.model,
                    exc.reason,
                    exc,
                )
            except Exception:
                log.exception("Embeddings (%s): indexing failed", self.model)
            if not self._again:
                return

    async def refresh(self) -> int:
        """Embed every passage whose text has no vector for this model yet; return how many.

        Vectors of texts no passage uses any more are deleted.
        """
        await self._fill_hashes()
        missing = await self.db.fetch_all(
            "SELECT c.content_hash, c.title, c.section, c.body FROM qa_chunks c WHERE c.id IN"
            " (SELECT min(m.id) FROM qa_chunks m WHERE NOT EXISTS (SELECT 1 FROM qa_vectors v"
            "  WHERE v.model = ? AND v.content_hash = m.content_hash) GROUP BY m.content_hash)"
            " ORDER BY c.id",
            (self.model,),
        )
        total = len(missing)
        if total:
            log.info("Embeddings (%s): %d passages to embed", self.model, total)
        done = 0
        for start in range(0, total, self.batch):
            rows = missing[start : start + self.batch]
            texts = [passage_text(r["title"], r["section"], r["body"]) for r in rows]
            vectors = await self.embedder.embed(texts, kind="index", within=None)
            now = to_db_time(self.clock.now())
            async with self.db.transaction() as conn:
                await conn.executemany(
                    "INSERT INTO qa_vectors (model, content_hash, dimensions, vector, created_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (model, content_hash) DO NOTHING",
                    [
                        (self.model, r["content_hash"], int(v.shape[0]), v.tobytes(), now)
                        for r, v in zip(rows, vectors, strict=True)
                    ],
                )
            done += len(rows)
            self._generation += 1
            if self.metrics is not None:
                self.metrics.embedded_passages.inc(len(rows))
            log.info("Embeddings (%s): %d of %d passages embedded", self.model, done, total)
        await self.db.execute(
            "DELETE FROM qa_vectors WHERE NOT EXISTS"
            " (SELECT 1 FROM qa_chunks c WHERE c.content_hash = qa_vectors.content_hash)"
        )
        return done

    async def _fill_hashes(self) -> None:
        """Passages stored before migration 0010 get their content hash."""
        rows = await self.db.fetch_all(
            "SELECT id, title, section, body FROM qa_chunks WHERE content_hash IS NULL"
        )
        if not rows:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                "UPDATE qa_chunks SET content_hash = ? WHERE id = ?",
                [(passage_hash(r["title"], r["section"], r["body"]), r["id"]) for r in rows],
            )

    # --- Searching ------------------------------------------------------------------

    async def nearest(
        self, guild_id: int, versions: tuple[int, int], question: str, limit: int
    ) -> Nearest | None:
        """The `limit` nearest passages among the shipped and this server's documents, or
        None when the question could not be embedded (full text answers alone)."""
        vector = await self._question_vector(question)
        if vector is None:
            return None
        ids_parts, score_parts = [], []
        scopes = [(SHIPPED_GUILD, versions[0])]
        if guild_id != SHIPPED_GUILD:
            scopes.append((guild_id, versions[1]))
        for scope, version in scopes:
            ids, matrix = await self._matrix(scope, version, vector.shape[0])
            if len(ids):
                ids_parts.append(ids)
                # einsum runs on this thread; BLAS would fan a product this small out to
                # threads that, on a busy machine, cost more than they save (p99 23 ms vs 9).
                score_parts.append(np.einsum("ij,j->i", matrix, vector))
        if not ids_parts:
            return Nearest([], 0.0, False)
        ids = np.concatenate(ids_parts)
        scores = np.concatenate(score_parts)
        count = min(limit, len(ids))
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top], kind="stable")]
        best = float(scores[top[0]])
        return Nearest([int(i) for i in ids[top]], best, best >= self.min_similarity)

    async def _question_vector(self, question: str) -> np.ndarray | None:
        key = normalize_question(question)
        cached = self._queries.get(key)
        if cached is not None:
            self._queries.move_to_end(key)
            return cached
        now = self.clock.now()
        if self._paused_until is not None and now < self._paused_until:
            self._fallback("paused")
            return None
        try:
            vector = (await self.embedder.embed([question], kind="query", within=self.timeout))[0]
        except EmbeddingError as exc:
            self._paused_until = now + PAUSE_AFTER_FAILURE
            self._fallback(exc.reason)
            log.warning(
                "Embeddings (%s): a question fell back to full text (%s: %s)",
                self.model,
                exc.reason,
                exc,
            )
            return None
        self._paused_until = None
        self._queries[key] = vector
        if len(self._queries) > QUERY_CACHE_SIZE:
            self._queries.popitem(last=False)
        return vector

    def _fallback(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.embedding_fallbacks.labels(reason=reason).inc()

    async def _matrix(
        self, guild_id: int, version: int, dimensions: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(chunk ids, unit vectors as rows) of one scope's passages, cached in memory."""
        key = (guild_id, version, dimensions, self._generation)
        cached = self._matrices.get(key)
        if cached is not None:
            self._matrices.move_to_end(key)
            return cached
        rows = await self.db.fetch_all(
            "SELECT c.id, v.vector FROM qa_chunks c"
            " JOIN qa_documents d ON d.id = c.document_id"
            " JOIN qa_vectors v ON v.model = ? AND v.content_hash = c.content_hash"
            " WHERE d.guild_id = ? AND v.dimensions = ? ORDER BY c.id",
            (self.model, guild_id, dimensions),
        )
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        matrix = matrix.reshape(len(rows), dimensions)
        stale = [k for k in self._matrices if k[0] == guild_id]
        for old in stale:
            del self._matrices[old]
        self._matrices[key] = (ids, matrix)
        if len(self._matrices) > MATRIX_CACHE_SIZE:
            self._matrices.popitem(last=False)
        return ids, matrix
