"""A member's Q&A data: export, erasure (keeping anonymous usage), retention, server removal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.clock import to_db_time
from bot.db import Database
from bot.services.qa.kb import KnowledgeBase


class QAPrivacy:
    def __init__(self, db: Database, kb: KnowledgeBase) -> None:
        self.db = db
        self.kb = kb

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete questions (with their votes and escalations) asked before `cutoff`."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM qa_questions WHERE created_at < ?", (to_db_time(cutoff),)
            )
            deleted = cursor.rowcount
            await conn.execute("DELETE FROM qa_threads WHERE created_at < ?", (to_db_time(cutoff),))
        return deleted

    async def export_member(self, user_id: int) -> dict[str, Any]:
        questions = await self.db.fetch_all(
            "SELECT id, guild_id, channel_id, question, answer, status, mode,"
            " prompt_tokens + completion_tokens AS tokens, created_at FROM qa_questions"
            " WHERE user_id = ? ORDER BY id",
            (user_id,),
        )
        votes = await self.db.fetch_all(
            "SELECT question_id, vote, created_at FROM qa_votes WHERE user_id = ?"
            " ORDER BY created_at",
            (user_id,),
        )
        escalations = await self.db.fetch_all(
            "SELECT question_id, guild_id, channel_id, message_id, created_at FROM qa_escalations"
            " WHERE user_id = ? ORDER BY created_at",
            (user_id,),
        )
        threads = await self.db.fetch_all(
            "SELECT thread_id, guild_id, question_id, created_at FROM qa_threads"
            " WHERE created_by = ? ORDER BY created_at",
            (user_id,),
        )
        documents = await self.kb.documents_by(user_id)
        return {
            "questions": [dict(row) for row in questions],
            "votes": [{**dict(row), "vote": "up" if row["vote"] > 0 else "down"} for row in votes],
            "escalations": [dict(row) for row in escalations],
            "follow_up_threads": [dict(row) for row in threads],
            "documents_added": [
                {"guild_id": d.guild_id, "slug": d.slug, "title": d.title, "source": d.source}
                for d in documents
            ],
        }

    async def delete_member(self, user_id: int) -> int:
        """Erase a member's questions and votes; token counts stay as anonymous usage."""
        async with self.db.transaction() as conn:
            total = 0
            for sql in (
                "DELETE FROM qa_votes WHERE user_id = ?",
                "DELETE FROM qa_escalations WHERE user_id = ?",
                "UPDATE qa_threads SET created_by = 0 WHERE created_by = ?",
                "UPDATE qa_documents SET created_by = NULL WHERE created_by = ?",
                "UPDATE qa_guild_limits SET updated_by = NULL WHERE updated_by = ?",
                "UPDATE qa_questions SET user_id = 0, question = '', normalized = '',"
                " answer = NULL, sources = NULL, cache_key = NULL, error = NULL"
                " WHERE user_id = ?",
            ):
                cursor = await conn.execute(sql, (user_id,))
                total += cursor.rowcount
        return total

    async def delete_guild(self, guild_id: int) -> int:
        async with self.db.transaction() as conn:
            total = 0
            for sql in (
                "DELETE FROM qa_questions WHERE guild_id = ?",
                "DELETE FROM qa_threads WHERE guild_id = ?",
                "DELETE FROM qa_guild_limits WHERE guild_id = ?",
                "DELETE FROM qa_escalations WHERE guild_id = ?",
            ):
                cursor = await conn.execute(sql, (guild_id,))
                total += cursor.rowcount
            total += await self.kb.delete_guild(conn, guild_id)
        self.kb.index_vectors()  # drops the vectors of text no server has any more
        return total
