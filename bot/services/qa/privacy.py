"""A member's Q&A data: export, erasure (keeping anonymous usage), retention, server removal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.clock import Clock, to_db_time
from bot.db import Database, Transaction
from bot.services.member_posts import Cleanup, queue_cleanups
from bot.services.qa import usage_keys
from bot.services.qa.kb import KnowledgeBase

# A promoted answer keeps its text when the member who asked erases their data; the
# question they asked, its title, gives way to this.
ERASED_QUESTION = "A community answer"


class QAPrivacy:
    def __init__(self, db: Database, clock: Clock, kb: KnowledgeBase) -> None:
        self.db = db
        self.clock = clock
        self.kb = kb

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete questions (with their votes and escalations) asked before `cutoff`; forget
        the usage keys no limit can reach any more."""
        await usage_keys.expire(self.db, self.clock.now())
        async with self.db.transaction() as conn:
            changed = await conn.execute(
                "DELETE FROM qa_questions WHERE created_at < ?", (to_db_time(cutoff),)
            )
            deleted = changed
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
        quoted = await self.db.fetch_all(
            "SELECT guild_id, slug, title, body, asker_id = ? AS your_question,"
            " author_id = ? AS your_answer FROM qa_documents"
            " WHERE asker_id = ? OR author_id = ? ORDER BY id",
            (user_id, user_id, user_id, user_id),
        )
        limits = await self.db.fetch_all(
            "SELECT guild_id, member_daily_tokens, guild_daily_tokens, updated_at"
            " FROM qa_guild_limits WHERE updated_by = ?",
            (user_id,),
        )
        return {
            "questions": [dict(row) for row in questions],
            "votes": [{**dict(row), "vote": "up" if row["vote"] > 0 else "down"} for row in votes],
            "escalations": [dict(row) for row in escalations],
            "follow_up_threads": [dict(row) for row in threads],
            "documents_added": [
                {"guild_id": d.guild_id, "slug": d.slug, "title": d.title, "source": d.source}
                for d in documents
            ],
            "knowledge_base_quoting_you": [dict(row) for row in quoted],
            "budgets_you_set": [dict(row) for row in limits],
        }

    async def delete_member(self, user_id: int) -> int:
        """Erase a member's questions and votes; token counts stay as anonymous usage.

        Questions still inside a rate or budget window keep counting under a keyed hash
        (see usage_keys), so erasing never resets a member's limits.
        """
        total = await self._rewrite_promoted(user_id)
        async with self.db.transaction() as conn:
            await usage_keys.keep_counting(conn, user_id, self.clock.now())
            await self._queue_posts(conn, user_id)
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
                changed = await conn.execute(sql, (user_id,))
                total += changed
        return total

    async def _queue_posts(self, conn: Transaction, user_id: int) -> None:
        """The escalation posts quoting the member, and the threads named after their
        questions: deleted and renamed on Discord by the privacy cog."""
        escalations = await conn.fetch_all(
            "SELECT channel_id, message_id, thread_id FROM qa_escalations WHERE user_id = ?",
            (user_id,),
        )
        threads = await conn.fetch_all(
            "SELECT t.thread_id FROM qa_threads t JOIN qa_questions q ON q.id = t.question_id"
            " WHERE q.user_id = ?",
            (user_id,),
        )
        await queue_cleanups(
            conn,
            [(e[0], e[1], Cleanup.DELETE) for e in escalations]
            + [(e[2], e[2], Cleanup.RENAME) for e in escalations]
            + [(t[0], t[0], Cleanup.RENAME) for t in threads],
        )

    async def _rewrite_promoted(self, user_id: int) -> int:
        """Knowledge-base documents that quote the member: their promoted reply goes; an
        answer promoted under their question stays under a neutral title."""
        authored = await self.db.fetch_all(
            "SELECT guild_id, slug FROM qa_documents WHERE author_id = ?", (user_id,)
        )
        for document in authored:
            await self.kb.remove_document(document["guild_id"], document["slug"])
        asked = await self.db.fetch_all(
            "SELECT guild_id, slug, body, created_by FROM qa_documents WHERE asker_id = ?",
            (user_id,),
        )
        for document in asked:
            rest = document["body"].split("\n", 1)[1] if "\n" in document["body"] else ""
            await self.kb.add_document(
                document["guild_id"],
                f"# {ERASED_QUESTION}\n{rest}",
                user_id=document["created_by"],
                title=ERASED_QUESTION,
                source="promoted",
                slug=document["slug"],
            )
        await self.db.execute(
            "UPDATE qa_documents SET asker_id = NULL WHERE asker_id = ?", (user_id,)
        )
        if authored or asked:
            await self.kb.search_index.forget_removed()
        return len(authored) + len(asked)

    async def delete_guild(self, guild_id: int) -> int:
        async with self.db.transaction() as conn:
            total = 0
            for sql in (
                "DELETE FROM qa_questions WHERE guild_id = ?",
                "DELETE FROM qa_threads WHERE guild_id = ?",
                "DELETE FROM qa_guild_limits WHERE guild_id = ?",
                "DELETE FROM qa_escalations WHERE guild_id = ?",
            ):
                changed = await conn.execute(sql, (guild_id,))
                total += changed
            total += await self.kb.delete_guild(conn, guild_id)
        self.kb.index_vectors()  # drops the vectors of text no server has any more
        return total
