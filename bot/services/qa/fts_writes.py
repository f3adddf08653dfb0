"""Writing SQLite's full-text index of the knowledge base's passages (qa_chunks_fts).

The index is an FTS5 table with external content: it keeps no text of its own, only what it
was given for each qa_chunks row, so it must be told of every passage added, changed or
removed. The knowledge base tells it in the transaction that writes the passages: `index`
right after rows are inserted, `unindex` right before rows are deleted or changed (an FTS5
'delete' must be handed the values it indexed, which are still in the row then).

Until migration 0014 triggers did this. SQLite lets a trigger write an FTS5 table only with
a trusted schema, and every connection, the writer included, now runs with
`trusted_schema = OFF` (bot/db/sqlite_hardening.py). PostgreSQL's index is a generated tsvector
column of qa_chunks that keeps itself in step: its engine (tsvector.py) writes nothing.
"""

from __future__ import annotations

from bot.db import Params, Transaction

# Which passages a write concerns: fixed SQL chosen by name, never text from elsewhere.
PASSAGES = {
    "of_document": "document_id = ?",
    "of_slug": "document_id IN (SELECT id FROM qa_documents WHERE guild_id = ? AND slug = ?)",
    "of_guild": "document_id IN (SELECT id FROM qa_documents WHERE guild_id = ?)",
}
COLUMNS = "title, section, body, scope"


class Fts5Writes:
    """Keeps qa_chunks_fts in step with qa_chunks, inside the caller's transaction."""

    async def index_passages(self, conn: Transaction, which: str, params: Params) -> None:
        """Add these passages (just inserted) to the index."""
        await conn.execute(
            f"INSERT INTO qa_chunks_fts (rowid, {COLUMNS}) "
            f"SELECT id, {COLUMNS} FROM qa_chunks WHERE {PASSAGES[which]}",
            params,
        )

    async def unindex_passages(self, conn: Transaction, which: str, params: Params) -> None:
        """Take these passages (about to be deleted or changed) out of the index."""
        await conn.execute(
            f"INSERT INTO qa_chunks_fts (qa_chunks_fts, rowid, {COLUMNS}) "
            f"SELECT 'delete', id, {COLUMNS} FROM qa_chunks WHERE {PASSAGES[which]}",
            params,
        )
