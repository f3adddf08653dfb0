"""After an answer: votes, follow-up threads, escalation to mentors, promotion into the KB."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock, to_db_time
from bot.db import Database, from_row
from bot.errors import DomainError, NotFound, PermissionDenied
from bot.services.qa.kb import KnowledgeBase, SavedDocument
from bot.services.qa.models import Escalation, QuestionRecord, VoteTally

ANSWERED = ("answered", "stopped")
# A claimed escalation whose post never got recorded (the bot stopped mid-way) may be
# claimed again after this long.
STALE_CLAIM = timedelta(minutes=10)


class QAFeedback:
    def __init__(self, db: Database, clock: Clock, kb: KnowledgeBase) -> None:
        self.db = db
        self.clock = clock
        self.kb = kb

    async def question(self, question_id: int, guild_id: int) -> QuestionRecord:
        row = await self.db.fetch_one(
            "SELECT id, guild_id, user_id, channel_id, thread_id, question, status, mode, answer,"
            " created_at FROM qa_questions WHERE id = ? AND guild_id = ?",
            (question_id, guild_id),
        )
        if row is None or row["user_id"] == 0:
            raise NotFound("That question is no longer on record.")
        return from_row(QuestionRecord, row)

    async def vote(self, question_id: int, guild_id: int, user_id: int, up: bool) -> VoteTally:
        """One vote per member per answer; voting again changes it."""
        record = await self.question(question_id, guild_id)
        if record.status not in ANSWERED:
            raise DomainError("That answer can't be rated.")
        value = 1 if up else -1
        async with self.db.transaction() as conn:
            previous = await conn.fetch_one(
                "SELECT vote FROM qa_votes WHERE question_id = ? AND user_id = ?",
                (question_id, user_id),
            )
            await conn.execute(
                "INSERT INTO qa_votes (question_id, user_id, vote, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (question_id, user_id) DO UPDATE SET vote = excluded.vote,"
                " created_at = excluded.created_at",
                (question_id, user_id, value, to_db_time(self.clock.now())),
            )
        up_votes, down_votes = await self.tally(question_id)
        changed = previous is None or previous[0] != value
        return VoteTally(up_votes, down_votes, changed)

    async def start_escalation(
        self, question_id: int, guild_id: int, user_id: int, qa_channel_id: int | None
    ) -> Escalation:
        """Claim the escalation of this question for this member, before anything is posted.

        The claim is the row itself (one per question), so a double click or two
        processes post once. `record_escalation` completes it; `abandon_escalation` gives
        it back when posting failed.
        """
        record = await self.question(question_id, guild_id)
        if record.user_id != user_id:
            raise PermissionDenied("Only the member who asked can hand this question to a mentor.")
        if qa_channel_id is None:
            raise DomainError(
                "This server has no Q&A channel yet: ask a moderator to set one with "
                "/config channel."
            )
        now = self.clock.now()
        claimed = await self.db.execute(
            "INSERT INTO qa_escalations (question_id, guild_id, user_id, channel_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (question_id) DO UPDATE SET"
            " channel_id = excluded.channel_id, created_at = excluded.created_at"
            " WHERE qa_escalations.message_id IS NULL AND qa_escalations.created_at < ?",
            (
                question_id,
                guild_id,
                user_id,
                qa_channel_id,
                to_db_time(now),
                to_db_time(now - STALE_CLAIM),
            ),
        )
        if claimed == 0:
            raise DomainError("This question is already with the mentors.")
        return Escalation(
            question_id, guild_id, user_id, record.question, record.answer, qa_channel_id
        )

    async def record_escalation(
        self, escalation: Escalation, message_id: int, thread_id: int | None
    ) -> None:
        """The claimed escalation was posted: remember where."""
        await self.db.execute(
            "UPDATE qa_escalations SET message_id = ?, thread_id = ? WHERE question_id = ?",
            (message_id, thread_id, escalation.question_id),
        )

    async def abandon_escalation(self, escalation: Escalation) -> None:
        """Posting failed: give the claim back so the member can try again."""
        await self.db.execute(
            "DELETE FROM qa_escalations WHERE question_id = ? AND message_id IS NULL",
            (escalation.question_id,),
        )

    async def escalation_for(
        self, guild_id: int, *, channel_id: int, reference_id: int | None
    ) -> Escalation | None:
        """The escalation a human reply belongs to: by its thread, or the post it replies to."""
        row = await self.db.fetch_one(
            "SELECT e.question_id, e.guild_id, e.user_id, e.channel_id, q.question, q.answer "
            "FROM qa_escalations e JOIN qa_questions q ON q.id = e.question_id "
            "WHERE e.guild_id = ? AND (e.thread_id = ? OR e.message_id = ? OR e.message_id = ?)"
            " AND q.user_id != 0 LIMIT 1",
            (guild_id, channel_id, channel_id, reference_id or -1),
        )
        if row is None:
            return None
        return Escalation(
            row["question_id"],
            row["guild_id"],
            row["user_id"],
            row["question"],
            row["answer"],
            row["channel_id"],
        )

    async def promote(
        self,
        guild_id: int,
        moderator_id: int,
        *,
        title: str,
        answer: str,
        question_id: int | None = None,
        author_id: int | None = None,
    ) -> SavedDocument:
        """Save a human answer as a server document, named after the question it answers.

        The document remembers whose words it holds (the asker's question as its title, the
        author's reply as its text), so erasing either member removes them.
        """
        body = answer.strip()
        if not body:
            raise DomainError("That message has no text to save.")
        heading = " ".join(title.split())[:90] or "Community answer"
        text = f"# {heading}\n\n## Answer\n\n{body}"
        slug = f"answer-{question_id}" if question_id else None
        saved = await self.kb.add_document(
            guild_id, text, user_id=moderator_id, title=heading, source="promoted", slug=slug
        )
        asker_id = None
        if question_id is not None:
            asker_id = await self.db.fetch_value(
                "SELECT user_id FROM qa_questions WHERE id = ? AND user_id <> 0", (question_id,)
            )
            await self.db.execute(
                "UPDATE qa_escalations SET promoted_at = ? WHERE question_id = ?",
                (to_db_time(self.clock.now()), question_id),
            )
        await self.db.execute(
            "UPDATE qa_documents SET asker_id = ?, author_id = ? WHERE guild_id = ? AND slug = ?",
            (asker_id, author_id, guild_id, saved.info.slug),
        )
        return saved

    async def thread_for(self, question_id: int) -> int | None:
        return await self.db.fetch_value(
            "SELECT thread_id FROM qa_threads WHERE question_id = ?", (question_id,)
        )

    async def start_thread(self, question_id: int, guild_id: int) -> QuestionRecord:
        """The question a follow-up thread will continue; refuses one that has no answer."""
        record = await self.question(question_id, guild_id)
        if record.status not in ANSWERED:
            raise DomainError("That question has no answer to follow up on.")
        return record

    async def record_thread(
        self, thread_id: int, guild_id: int, question_id: int, user_id: int
    ) -> None:
        await self.db.execute(
            "INSERT INTO qa_threads (thread_id, guild_id, question_id, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (thread_id) DO NOTHING",
            (thread_id, guild_id, question_id, user_id, to_db_time(self.clock.now())),
        )

    async def tally(self, question_id: int) -> tuple[int, int]:
        """(👍, 👎) votes of an answer."""
        row = await self.db.fetch_one(
            "SELECT count(*) FILTER (WHERE vote > 0), count(*) FILTER (WHERE vote < 0)"
            " FROM qa_votes WHERE question_id = ?",
            (question_id,),
        )
        return (row[0], row[1]) if row else (0, 0)
