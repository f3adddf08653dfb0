"""The knowledge base: shipped and server documents, their chunks, and retrieval."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.clock import Clock, to_db_time
from bot.db import Database, Params, Row, Transaction, from_row
from bot.errors import DomainError, NotFound
from bot.services.qa.documents import (
    SHIPPED_DIR,
    TITLE_LIMIT,
    Document,
    chunk_document,
    content_hash,
    load_shipped_documents,
    normalize_text,
    parse_document,
    passage_hash,
    slugify,
)
from bot.services.qa.fts import scope_token
from bot.services.qa.retrieval import SHIPPED_GUILD, Retrieval, Retriever, TextSearch

if TYPE_CHECKING:
    from bot.services.qa.vectors import VectorSearch

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class DocumentInfo:
    id: int
    guild_id: int
    slug: str
    title: str
    source: str
    sections: int
    chars: int
    updated_at: datetime
    created_by: int | None

    @property
    def shipped(self) -> bool:
        return self.guild_id == SHIPPED_GUILD


@dataclass(frozen=True)
class SavedDocument:
    info: DocumentInfo
    replaced: bool
    chunks: int


@dataclass(frozen=True)
class SyncReport:
    added: int
    updated: int
    removed: int
    unchanged: int


DOC_COLUMNS = (
    "d.id, d.guild_id, d.slug, d.title, d.source, d.created_by, d.updated_at,"
    " length(d.body) AS chars,"
    " (SELECT count(DISTINCT section) FROM qa_chunks c WHERE c.document_id = d.id) AS sections"
)


def _info(row: Row) -> DocumentInfo:
    return from_row(DocumentInfo, row)


def check_upload(filename: str, size: int, max_bytes: int) -> None:
    """Refuse an attachment by its name and size, before downloading it."""
    if not filename.lower().endswith(UPLOAD_SUFFIXES):
        raise DomainError("Attach a Markdown (.md) or plain text (.txt) file.")
    if size > max_bytes:
        raise DomainError(
            f"That file is {size:,} bytes; documents can be up to {max_bytes:,} bytes. "
            "Split it into several documents."
        )


def decode_upload(filename: str, data: bytes, max_bytes: int) -> str:
    """The text of an uploaded `.md`/`.txt` file; refuses other types, binaries and non-UTF-8."""
    check_upload(filename, len(data), max_bytes)
    if b"\x00" in data:
        raise DomainError("That file looks binary, not text: attach a .md or .txt file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("That file is not UTF-8 text: save it as UTF-8 and try again.") from None
    if not text.strip():
        raise DomainError("That file is empty.")
    return text


class KnowledgeBase:
    """Documents and their passages; `search` is the engine's full-text index of them
    (bot/wiring.py picks it), told of every passage written or removed."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        search: TextSearch,
        *,
        chunk_chars: int,
        max_documents: int,
        doc_max_bytes: int,
        shipped_dir: Path = SHIPPED_DIR,
        vectors: VectorSearch | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.chunk_chars = chunk_chars
        self.max_documents = max_documents
        self.doc_max_bytes = doc_max_bytes
        self.shipped_dir = shipped_dir
        self.vectors = vectors
        self.search_index = search
        self.retriever = Retriever(db, search, vectors=vectors)

    # --- Shipped documents --------------------------------------------------------

    async def sync_shipped(self) -> SyncReport:
        """Index the shipped documents that changed since the last start; drop removed ones.

        Unchanged documents cost one hash comparison, so start-up stays fast.
        """
        documents = load_shipped_documents(self.shipped_dir)
        rows = await self.db.fetch_all(
            "SELECT slug, content_hash FROM qa_documents WHERE guild_id = ?", (SHIPPED_GUILD,)
        )
        stored = {row["slug"]: row["content_hash"] for row in rows}
        changed = [d for d in documents if stored.get(d.slug) != d.content_hash]
        gone = sorted(set(stored) - {d.slug for d in documents})
        if changed or gone:
            async with self.db.transaction() as conn:
                for document in changed:
                    await self._store(conn, SHIPPED_GUILD, document, "shipped", None)
                for slug in gone:
                    await self._unindex(conn, "of_slug", (SHIPPED_GUILD, slug))
                    await conn.execute(
                        "DELETE FROM qa_documents WHERE guild_id = ? AND slug = ?",
                        (SHIPPED_GUILD, slug),
                    )
                await self._bump(conn, SHIPPED_GUILD)
            log.info("Knowledge base: indexed %d shipped documents", len(changed))
            self.index_vectors()
        added = sum(1 for d in changed if d.slug not in stored)
        return SyncReport(added, len(changed) - added, len(gone), len(documents) - len(changed))

    # --- Server documents ---------------------------------------------------------

    async def add_document(
        self,
        guild_id: int,
        text: str,
        *,
        user_id: int,
        title: str | None = None,
        fallback_title: str | None = None,
        source: str = "server",
        slug: str | None = None,
    ) -> SavedDocument:
        """Add a server document, or replace the one with the same title (same slug).

        `title` overrides the document's own `# heading`; `fallback_title` is used only
        when it has none.
        """
        if source not in ("server", "promoted"):
            raise ValueError(f"unknown source {source!r}")
        if len(text.encode("utf-8")) > self.doc_max_bytes:
            raise DomainError(
                f"Documents can be up to {self.doc_max_bytes:,} bytes; split this one into several."
            )
        if not normalize_text(text):
            raise DomainError("The document is empty.")
        title = " ".join((title or "").split())[:TITLE_LIMIT] or None
        parsed = parse_document(text, slug="", fallback_title=title or fallback_title)
        if title is not None:
            parsed = replace(parsed, title=title)
        slug = slug or slugify(parsed.title) or f"doc-{content_hash(parsed.title)[:8]}"
        document = replace(parsed, slug=slug)
        shipped = await self.db.fetch_value(
            "SELECT 1 FROM qa_documents WHERE guild_id = ? AND slug = ?", (SHIPPED_GUILD, slug)
        )
        if shipped:
            raise DomainError(
                f"'{document.title}' is the name of a shipped document; give yours another title."
            )
        async with self.db.transaction() as conn:
            await conn.lock("qa-documents", guild_id)
            existing = await conn.fetch_one(
                "SELECT id FROM qa_documents WHERE guild_id = ? AND slug = ?", (guild_id, slug)
            )
            if existing is None:
                count = await conn.fetch_one(
                    "SELECT count(*) FROM qa_documents WHERE guild_id = ?", (guild_id,)
                )
                if count[0] >= self.max_documents:
                    raise DomainError(
                        f"This server has {count[0]} documents, the most allowed; "
                        "remove one with /kb remove first."
                    )
            chunks = await self._store(conn, guild_id, document, source, user_id)
            await self._bump(conn, guild_id)
        self.index_vectors()
        info = await self._find(guild_id, slug)
        assert info is not None
        return SavedDocument(info=info, replaced=existing is not None, chunks=chunks)

    async def remove_document(self, guild_id: int, slug: str) -> DocumentInfo:
        info = await self._find(guild_id, slug)
        if info is None:
            raise NotFound(f"This server has no document '{slug[:60]}'. See /kb list.")
        if info.shipped:
            raise DomainError("Shipped documents come with the bot and can't be removed.")
        async with self.db.transaction() as conn:
            await self._unindex(conn, "of_document", (info.id,))
            await conn.execute("DELETE FROM qa_documents WHERE id = ?", (info.id,))
            await self._bump(conn, guild_id)
        self.index_vectors()
        return info

    def index_vectors(self) -> None:
        """With embeddings configured, embed the passages that have no vector yet (in the
        background); old vectors no passage uses are dropped."""
        if self.vectors is not None:
            self.vectors.schedule_refresh()

    async def close(self) -> None:
        """Stop background indexing (it resumes from the database at the next start)."""
        if self.vectors is not None:
            await self.vectors.close()

    async def list_documents(self, guild_id: int) -> list[DocumentInfo]:
        """The shipped documents, then this server's, each group by title."""
        rows = await self.db.fetch_all(
            f"SELECT {DOC_COLUMNS} FROM qa_documents d WHERE d.guild_id IN (?, ?) "
            "ORDER BY d.guild_id != ?, lower(d.title)",
            (SHIPPED_GUILD, guild_id, SHIPPED_GUILD),
        )
        return [_info(row) for row in rows]

    async def get_document(self, guild_id: int, slug: str) -> tuple[DocumentInfo, list[str]]:
        """A document this server can see, with its section headings in order."""
        info = await self._find(guild_id, slug)
        if info is None:
            raise NotFound(f"There is no document '{slug[:60]}' here. See /kb list.")
        rows = await self.db.fetch_all(
            "SELECT section FROM qa_chunks WHERE document_id = ? ORDER BY position", (info.id,)
        )
        return info, list(dict.fromkeys(row["section"] for row in rows))

    async def get_section_text(self, guild_id: int, slug: str, section: str) -> str:
        info = await self._find(guild_id, slug)
        if info is None:
            raise NotFound(f"There is no document '{slug[:60]}' here.")
        rows = await self.db.fetch_all(
            "SELECT body FROM qa_chunks WHERE document_id = ? AND section = ? ORDER BY position",
            (info.id, section),
        )
        return "\n\n".join(row["body"] for row in rows)

    async def search_slugs(self, guild_id: int, text: str, limit: int = 25) -> list[DocumentInfo]:
        """Documents whose slug or title contains `text`, for autocomplete."""
        # lower() on both sides: LIKE ignores case on SQLite but not on PostgreSQL.
        pattern = f"%{text.strip().lower()[:60]}%"
        rows = await self.db.fetch_all(
            f"SELECT {DOC_COLUMNS} FROM qa_documents d WHERE d.guild_id IN (?, ?) "
            "AND (d.slug LIKE ? OR lower(d.title) LIKE ?) "
            "ORDER BY d.guild_id = ?, lower(d.title) LIMIT ?",
            (SHIPPED_GUILD, guild_id, pattern, pattern, SHIPPED_GUILD, limit),
        )
        return [_info(row) for row in rows]

    async def counts(self, guild_id: int) -> tuple[int, int]:
        """(documents, chunks) this server can search."""
        row = await self.db.fetch_one(
            "SELECT count(DISTINCT d.id), count(c.id) FROM qa_documents d "
            "LEFT JOIN qa_chunks c ON c.document_id = d.id WHERE d.guild_id IN (?, ?)",
            (SHIPPED_GUILD, guild_id),
        )
        return (row[0], row[1]) if row else (0, 0)

    # --- Retrieval ----------------------------------------------------------------

    async def search(self, guild_id: int, text: str, limit: int) -> Retrieval:
        """The best `limit` passages for `text` among the shipped and this server's documents."""
        return await self.retriever.search(guild_id, text, limit)

    async def version(self, guild_id: int) -> str:
        """Changes whenever the shipped documents or this server's documents change."""
        return await self.retriever.version(guild_id)

    # --- Privacy ------------------------------------------------------------------

    async def documents_by(self, user_id: int) -> list[DocumentInfo]:
        rows = await self.db.fetch_all(
            f"SELECT {DOC_COLUMNS} FROM qa_documents d WHERE d.created_by = ? ORDER BY d.id",
            (user_id,),
        )
        return [_info(row) for row in rows]

    async def delete_guild(self, conn: Transaction, guild_id: int) -> int:
        """Inside the caller's transaction: drop a server's documents and its version row."""
        if guild_id == SHIPPED_GUILD:
            return 0
        await self._unindex(conn, "of_guild", (guild_id,))
        changed = await conn.execute("DELETE FROM qa_documents WHERE guild_id = ?", (guild_id,))
        await conn.execute("DELETE FROM qa_kb_versions WHERE guild_id = ?", (guild_id,))
        return changed

    # --- Internals ----------------------------------------------------------------

    async def _find(self, guild_id: int, slug: str) -> DocumentInfo | None:
        row = await self.db.fetch_one(
            f"SELECT {DOC_COLUMNS} FROM qa_documents d WHERE d.guild_id IN (?, ?) AND d.slug = ? "
            "ORDER BY d.guild_id = ? LIMIT 1",
            (SHIPPED_GUILD, guild_id, slug.strip().lower(), SHIPPED_GUILD),
        )
        return None if row is None else _info(row)

    async def _store(
        self,
        conn: Transaction,
        guild_id: int,
        document: Document,
        source: str,
        user_id: int | None,
    ) -> int:
        now = to_db_time(self.clock.now())
        new_id = await conn.fetch_value(
            "INSERT INTO qa_documents (guild_id, slug, title, source, content_hash, body,"
            " created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (guild_id, slug) DO UPDATE SET title = excluded.title,"
            " source = excluded.source, content_hash = excluded.content_hash,"
            " body = excluded.body, created_by = excluded.created_by,"
            " updated_at = excluded.updated_at "
            "RETURNING id",
            (
                guild_id,
                document.slug,
                document.title,
                source,
                document.content_hash,
                document.body,
                user_id,
                now,
                now,
            ),
        )
        document_id = new_id
        await self._unindex(conn, "of_document", (document_id,))
        await conn.execute("DELETE FROM qa_chunks WHERE document_id = ?", (document_id,))
        chunks = chunk_document(document, self.chunk_chars)
        await conn.executemany(
            "INSERT INTO qa_chunks (document_id, position, title, section, body, scope,"
            " content_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    document_id,
                    c.position,
                    document.title,
                    c.section,
                    c.text,
                    scope_token(guild_id),
                    passage_hash(document.title, c.section, c.text),
                )
                for c in chunks
            ],
        )
        await self.search_index.index_passages(conn, "of_document", (document_id,))
        return len(chunks)

    async def _unindex(self, conn: Transaction, which: str, params: Params) -> None:
        """Before passages are deleted: out of the full-text index, in the same transaction
        (see fts_writes.py; a document's passages go with it by ON DELETE CASCADE)."""
        await self.search_index.unindex_passages(conn, which, params)

    async def _bump(self, conn: Transaction, guild_id: int) -> None:
        await conn.execute(
            "INSERT INTO qa_kb_versions AS v (guild_id, version) VALUES (?, 1) "
            "ON CONFLICT (guild_id) DO UPDATE SET version = v.version + 1",
            (guild_id,),
        )
