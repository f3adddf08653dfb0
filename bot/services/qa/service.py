"""Q&A: questions in, grounded answers out, within limits the moderators control.

A question goes `reserve` (checks and records it, fast, before the cog defers) ->
`prepare` (retrieval, context, cache, spoilers: a `Plan`) -> either `open_stream` +
`complete` (the model) or `deliver` (a ready answer). `fail` records an LLM failure
without charging tokens; on an exhausted quota it answers from retrieval instead.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, astuple, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiosqlite
from openai import AsyncOpenAI

from bot.clock import Clock, from_db_time, to_db_time
from bot.config import Settings
from bot.db import Database
from bot.errors import DomainError, NotFound, PermissionDenied, RateLimited
from bot.services.contracts import (
    MemberContext,
    MemberContextSource,
    OpenChallenge,
    OpenChallengeSource,
)
from bot.services.qa import answers
from bot.services.qa.fts import normalize_question
from bot.services.qa.kb import KnowledgeBase, Passage, Retrieval, SavedDocument
from bot.services.qa.llm import ChatStream, FailureKind, LLMFailure, moderation_flagged
from bot.services.qa.models import (
    Answer,
    AnswerMode,
    Citation,
    Escalation,
    Gap,
    Limits,
    Plan,
    QuestionRecord,
    Ticket,
    UsageDay,
    UsageReport,
    VoteTally,
)
from bot.services.qa.prompt import Turn, build_messages, cited_numbers, trim_history
from bot.services.qa.spoilers import matching_challenge, redact, safe_prefix

log = logging.getLogger(__name__)

ANSWERED = ("answered", "stopped")
REFUSED_MESSAGE = "I can't help with that question here. Please ask about learning AI engineering."


def format_wait(seconds: float) -> str:
    """'in 3 min', 'in 2 h 5 min': how long until a member may ask again."""
    minutes = max(1, int(seconds + 59) // 60)
    if minutes < 60:
        return f"in {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"in {hours} h {rest} min" if rest else f"in {hours} h"


class QAService:
    privacy_section = "qa"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        llm: AsyncOpenAI | None = None,
        *,
        member_context: MemberContextSource | None = None,
        open_challenges: OpenChallengeSource | None = None,
        kb: KnowledgeBase | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.llm = llm
        self.member_context = member_context
        self.open_challenges = open_challenges
        self.kb = kb or KnowledgeBase(
            db,
            clock,
            chunk_chars=settings.qa_chunk_chars,
            max_documents=settings.qa_max_documents,
            doc_max_bytes=settings.qa_doc_max_bytes,
        )
        self._quota_paused_until: datetime | None = None

    @property
    def llm_available(self) -> bool:
        if self.llm is None:
            return False
        paused = self._quota_paused_until
        return paused is None or self.clock.now() >= paused

    # --- Asking -------------------------------------------------------------------

    async def reserve(self, guild_id: int, user_id: int, channel_id: int, question: str) -> Ticket:
        """Check the question and the member's limits, then record it as pending.

        Fast (no network), so the cog can refuse ephemerally before it defers.
        """
        text = " ".join(question.split())
        if not text:
            raise DomainError("Ask a question: the text was empty.")
        limit = self.settings.qa_max_question_chars
        if len(text) > limit:
            raise DomainError(
                f"Questions can be up to {limit:,} characters; yours has {len(text):,}. "
                "Shorten it, or split it into smaller questions."
            )
        now = self.clock.now()
        async with self.db.transaction() as conn:
            await self._check_rate(conn, guild_id, user_id, now)
            if self.llm is not None:
                await self._check_budgets(conn, guild_id, user_id, now)
            cursor = await conn.execute(
                "INSERT INTO qa_questions (guild_id, user_id, channel_id, question, normalized,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (guild_id, user_id, channel_id, text, normalize_question(text), to_db_time(now)),
            )
            question_id = cursor.lastrowid
        return Ticket(question_id, guild_id, user_id, channel_id, text)

    async def prepare(self, ticket: Ticket) -> Plan:
        """Decide how to answer: model, cache, excerpts or hints. May call the network."""
        if self.llm_available and self.settings.qa_moderation_enabled:
            assert self.llm is not None
            model = self.settings.qa_moderation_model
            if await moderation_flagged(self.llm, model, ticket.question):
                await self._set_status(ticket.question_id, "refused", error="moderation")
                raise DomainError(REFUSED_MESSAGE)

        thread_id, turns, lost_start = await self._conversation(ticket)
        notes: list[str] = []
        if lost_start:
            notes.append(
                "I can't see the start of this conversation any more, so this answer "
                "stands on its own."
            )
        retrieval = await self._retrieve(ticket, turns)
        await self.db.execute(
            "UPDATE qa_questions SET thread_id = ?, top_score = ?, coverage = ? WHERE id = ?",
            (thread_id, retrieval.top_score, retrieval.coverage, ticket.question_id),
        )
        challenge = await self._matching_challenge(ticket)
        covered = retrieval.covers(self.settings.qa_min_coverage)
        passages = retrieval.passages[: self.settings.qa_passages]

        if not self.llm_available:
            if self.llm is not None:
                notes.append(answers.QUOTA_NOTE)
            if challenge is not None:
                text = answers.hint_pointers(challenge, passages[: self.settings.qa_excerpts])
                mode = AnswerMode.HINT
            else:
                text = answers.excerpts(passages[: self.settings.qa_excerpts], covered)
                mode = AnswerMode.EXCERPTS
            shown = passages[: self.settings.qa_excerpts]
            return self._ready(ticket, mode, text, shown, covered, thread_id, notes, challenge)

        member = await self._member(ticket)
        cache_key = None
        if challenge is None and thread_id is None:
            version = await self.kb.version(ticket.guild_id)
            cache_key = self._cache_key(ticket.question, version, member)
            cached = await self._cached(ticket.guild_id, cache_key)
            if cached is not None:
                text, sources = cached
                citations = tuple(Citation(**c) for c in sources)
                return Plan(
                    ticket=ticket,
                    mode=AnswerMode.CACHED,
                    streams=False,
                    passages=(),
                    covered=True,
                    text=text,
                    citations=citations,
                    messages=(),
                    hint_for=None,
                    personalized=member is not None,
                    cache_key=None,
                    thread_id=None,
                    notes=tuple(notes),
                )
        history = trim_history(turns, self.settings.qa_history_tokens)
        messages = build_messages(
            ticket.question, passages, member=member, history=history, hint_for=challenge
        )
        return Plan(
            ticket=ticket,
            mode=AnswerMode.HINT if challenge else AnswerMode.LLM,
            streams=True,
            passages=tuple(passages),
            covered=covered,
            text="",
            citations=(),
            messages=tuple(messages),
            hint_for=challenge,
            personalized=member is not None,
            cache_key=cache_key,
            thread_id=thread_id,
            notes=tuple(notes),
        )

    def open_stream(self, plan: Plan) -> ChatStream:
        if self.llm is None or not plan.streams:
            raise ValueError("this plan has no model call")
        return ChatStream(
            self.llm,
            model=self.settings.llm_model,
            messages=plan.messages,
            max_tokens=self.settings.qa_max_answer_tokens,
            temperature=self.settings.qa_temperature,
            streaming=self.settings.qa_streaming,
        )

    def display(self, plan: Plan, text: str) -> str:
        """What of a half-streamed answer may be shown: never a challenge answer or the
        instructions."""
        if answers.leaks(text):
            return answers.REFUSAL
        if plan.hint_for is not None:
            return safe_prefix(text, plan.hint_for.answer)
        return text

    async def complete(self, plan: Plan, stream: ChatStream) -> Answer:
        """Record a streamed answer (finished or stopped) with its tokens."""
        text = stream.text.strip()
        usage = stream.usage()
        if not text and not stream.stopped:
            raise LLMFailure(FailureKind.SERVER, "the model returned an empty answer")
        if answers.leaks(text):
            log.warning("Answer to question %s repeated the instructions", plan.ticket.question_id)
            text = answers.REFUSAL
        if plan.hint_for is not None:
            text = redact(text, plan.hint_for.answer)
        numbers = cited_numbers(text, len(plan.passages))
        used = [plan.passages[n - 1] for n in numbers] or list(plan.passages)
        citations = answers.citations(used, numbers or None)
        status = "stopped" if stream.stopped else "answered"
        cache_key = plan.cache_key if status == "answered" and plan.mode is AnswerMode.LLM else None
        await self.db.execute(
            "UPDATE qa_questions SET status = ?, mode = ?, answer = ?, sources = ?,"
            " personalized = ?, cache_key = ?, prompt_tokens = ?, completion_tokens = ?,"
            " tokens_estimated = ?, answered_at = ? WHERE id = ?",
            (
                status,
                plan.mode.value,
                text,
                _sources_json(citations),
                int(plan.personalized),
                cache_key,
                usage.prompt_tokens,
                usage.completion_tokens,
                int(usage.estimated),
                to_db_time(self.clock.now()),
                plan.ticket.question_id,
            ),
        )
        return Answer(
            question_id=plan.ticket.question_id,
            text=text,
            citations=citations,
            mode=plan.mode,
            stopped=stream.stopped,
            notes=plan.notes,
            tokens=usage.total,
        )

    async def deliver(self, plan: Plan) -> Answer:
        """Record a ready answer (excerpts, hints without a model, or the cache)."""
        await self.db.execute(
            "UPDATE qa_questions SET status = 'answered', mode = ?, answer = ?, sources = ?,"
            " personalized = ?, answered_at = ? WHERE id = ?",
            (
                plan.mode.value,
                plan.text,
                _sources_json(plan.citations),
                int(plan.personalized),
                to_db_time(self.clock.now()),
                plan.ticket.question_id,
            ),
        )
        return Answer(
            question_id=plan.ticket.question_id,
            text=plan.text,
            citations=plan.citations,
            mode=plan.mode,
            stopped=False,
            notes=plan.notes,
            tokens=0,
        )

    async def fail(self, plan: Plan, failure: LLMFailure) -> Answer | None:
        """Record a failed model call (no tokens charged). On an exhausted quota, answer
        from retrieval alone instead and pause the model; otherwise return None."""
        ticket = plan.ticket
        log.warning(
            "LLM failed for question %s in guild %s (%s): %s | question: %r",
            ticket.question_id,
            ticket.guild_id,
            failure.kind.value,
            failure.detail,
            ticket.question[:200],
        )
        if failure.kind is not FailureKind.QUOTA:
            await self._set_status(ticket.question_id, "failed", error=failure.kind.value)
            return None
        pause = timedelta(minutes=self.settings.qa_quota_pause_minutes)
        self._quota_paused_until = self.clock.now() + pause
        shown = plan.passages[: self.settings.qa_excerpts]
        if plan.hint_for is not None:
            text, mode = answers.hint_pointers(plan.hint_for, shown), AnswerMode.HINT
        else:
            text, mode = answers.excerpts(shown, plan.covered), AnswerMode.EXCERPTS
        notes = [*plan.notes, answers.QUOTA_NOTE]
        ready = self._ready(ticket, mode, text, shown, plan.covered, plan.thread_id, notes, None)
        return replace(await self.deliver(ready), quota_exhausted=True)

    async def refuse(self, ticket: Ticket, reason: str) -> None:
        """The question was turned down after it was recorded (it still counts as asked)."""
        await self._set_status(ticket.question_id, "refused", error=reason[:200])

    async def abandon(self, ticket: Ticket, reason: str) -> None:
        """Answering broke for a reason other than the model before an answer was recorded:
        mark it failed, so it counts against neither the rate limit nor the budget."""
        await self.db.execute(
            "UPDATE qa_questions SET status = 'failed', error = ?, answered_at = ?"
            " WHERE id = ? AND status = 'pending'",
            (reason[:200], to_db_time(self.clock.now()), ticket.question_id),
        )

    # --- After the answer -----------------------------------------------------------

    async def question(self, question_id: int, guild_id: int) -> QuestionRecord:
        row = await self.db.fetch_one(
            "SELECT id, guild_id, user_id, channel_id, thread_id, question, status, mode, answer,"
            " created_at FROM qa_questions WHERE id = ? AND guild_id = ?",
            (question_id, guild_id),
        )
        if row is None or row["user_id"] == 0:
            raise NotFound("That question is no longer on record.")
        return QuestionRecord(
            id=row["id"],
            guild_id=row["guild_id"],
            user_id=row["user_id"],
            channel_id=row["channel_id"],
            thread_id=row["thread_id"],
            question=row["question"],
            status=row["status"],
            mode=row["mode"],
            answer=row["answer"],
            created_at=from_db_time(row["created_at"]),
        )

    async def vote(self, question_id: int, guild_id: int, user_id: int, up: bool) -> VoteTally:
        """One vote per member per answer; voting again changes it."""
        record = await self.question(question_id, guild_id)
        if record.status not in ANSWERED:
            raise DomainError("That answer can't be rated.")
        value = 1 if up else -1
        async with self.db.transaction() as conn:
            previous = await (
                await conn.execute(
                    "SELECT vote FROM qa_votes WHERE question_id = ? AND user_id = ?",
                    (question_id, user_id),
                )
            ).fetchone()
            await conn.execute(
                "INSERT INTO qa_votes (question_id, user_id, vote, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (question_id, user_id) DO UPDATE SET vote = excluded.vote,"
                " created_at = excluded.created_at",
                (question_id, user_id, value, to_db_time(self.clock.now())),
            )
        up_votes, down_votes = await self._tally(question_id)
        changed = previous is None or previous[0] != value
        return VoteTally(up_votes, down_votes, changed)

    async def tally(self, question_id: int) -> tuple[int, int]:
        return await self._tally(question_id)

    async def start_escalation(
        self, question_id: int, guild_id: int, user_id: int, qa_channel_id: int | None
    ) -> Escalation:
        """Check that this member may hand this question to the humans, and where."""
        record = await self.question(question_id, guild_id)
        if record.user_id != user_id:
            raise PermissionDenied("Only the member who asked can hand this question to a mentor.")
        if qa_channel_id is None:
            raise DomainError(
                "This server has no Q&A channel yet: ask a moderator to set one with "
                "/config channel."
            )
        already = await self.db.fetch_value(
            "SELECT message_id FROM qa_escalations WHERE question_id = ?", (question_id,)
        )
        if already is not None:
            raise DomainError("This question is already with the mentors.")
        return Escalation(
            question_id, guild_id, user_id, record.question, record.answer, qa_channel_id
        )

    async def record_escalation(
        self, escalation: Escalation, message_id: int, thread_id: int | None
    ) -> None:
        await self.db.execute(
            "INSERT INTO qa_escalations (question_id, guild_id, user_id, channel_id, message_id,"
            " thread_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                escalation.question_id,
                escalation.guild_id,
                escalation.user_id,
                escalation.channel_id,
                message_id,
                thread_id,
                to_db_time(self.clock.now()),
            ),
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
    ) -> SavedDocument:
        """Save a human answer as a server document, named after the question it answers."""
        body = answer.strip()
        if not body:
            raise DomainError("That message has no text to save.")
        heading = " ".join(title.split())[:90] or "Community answer"
        text = f"# {heading}\n\n## Answer\n\n{body}"
        slug = f"answer-{question_id}" if question_id else None
        saved = await self.kb.add_document(
            guild_id, text, user_id=moderator_id, title=heading, source="promoted", slug=slug
        )
        if question_id is not None:
            await self.db.execute(
                "UPDATE qa_escalations SET promoted_at = ? WHERE question_id = ?",
                (to_db_time(self.clock.now()), question_id),
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

    # --- Moderators -------------------------------------------------------------------

    async def limits(self, guild_id: int) -> Limits:
        row = await self.db.fetch_one(
            "SELECT member_daily_tokens, guild_daily_tokens FROM qa_guild_limits"
            " WHERE guild_id = ?",
            (guild_id,),
        )
        member = row["member_daily_tokens"] if row else None
        guild = row["guild_daily_tokens"] if row else None
        return Limits(
            rate_count=self.settings.qa_rate_count,
            rate_window_minutes=self.settings.qa_rate_window_minutes,
            member_daily_tokens=self.settings.qa_member_daily_tokens if member is None else member,
            guild_daily_tokens=self.settings.qa_guild_daily_tokens if guild is None else guild,
            member_overridden=member is not None,
            guild_overridden=guild is not None,
        )

    async def set_limits(
        self,
        guild_id: int,
        moderator_id: int,
        *,
        member_daily_tokens: int | None,
        guild_daily_tokens: int | None,
        reset: bool = False,
    ) -> Limits:
        """Override the daily token budgets for one server (0 means no limit)."""
        for value in (member_daily_tokens, guild_daily_tokens):
            if value is not None and not 0 <= value <= 100_000_000:
                raise DomainError(
                    "Budgets are a number of tokens from 0 (no limit) to 100,000,000."
                )
        now = to_db_time(self.clock.now())
        if reset:
            await self.db.execute("DELETE FROM qa_guild_limits WHERE guild_id = ?", (guild_id,))
            return await self.limits(guild_id)
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO qa_guild_limits (guild_id, updated_by, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (guild_id) DO UPDATE SET updated_by = excluded.updated_by,"
                " updated_at = excluded.updated_at",
                (guild_id, moderator_id, now),
            )
            if member_daily_tokens is not None:
                await conn.execute(
                    "UPDATE qa_guild_limits SET member_daily_tokens = ? WHERE guild_id = ?",
                    (member_daily_tokens, guild_id),
                )
            if guild_daily_tokens is not None:
                await conn.execute(
                    "UPDATE qa_guild_limits SET guild_daily_tokens = ? WHERE guild_id = ?",
                    (guild_daily_tokens, guild_id),
                )
        return await self.limits(guild_id)

    async def usage(self, guild_id: int, days: int = 30) -> UsageReport:
        """Questions, tokens and estimated cost per day, newest first, and the feedback."""
        now = self.clock.now()
        start = _day_start(now) - timedelta(days=days - 1)
        rows = await self.db.fetch_all(
            "SELECT date(created_at) AS day, count(*) AS questions,"
            " sum(prompt_tokens + completion_tokens) AS tokens,"
            " sum(mode = 'cached') AS cached, sum(status = 'failed') AS failed "
            "FROM qa_questions WHERE guild_id = ? AND created_at >= ? "
            "GROUP BY day ORDER BY day DESC",
            (guild_id, to_db_time(start)),
        )
        rate = self.settings.qa_cost_per_1k_tokens
        usage_days = tuple(
            UsageDay(
                date.fromisoformat(row["day"]),
                row["questions"],
                row["tokens"] or 0,
                (row["tokens"] or 0) / 1000 * rate,
            )
            for row in rows
        )
        votes = await self.db.fetch_one(
            "SELECT coalesce(sum(v.vote > 0), 0), coalesce(sum(v.vote < 0), 0) FROM qa_votes v "
            "JOIN qa_questions q ON q.id = v.question_id"
            " WHERE q.guild_id = ? AND q.created_at >= ?",
            (guild_id, to_db_time(start)),
        )
        used_today = await self.db.fetch_value(
            "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM qa_questions"
            " WHERE guild_id = ? AND created_at >= ?",
            (guild_id, to_db_time(_day_start(now))),
        )
        tokens = sum(d.tokens for d in usage_days)
        return UsageReport(
            days=usage_days,
            questions=sum(d.questions for d in usage_days),
            tokens=tokens,
            cost=tokens / 1000 * rate,
            cached=sum(row["cached"] or 0 for row in rows),
            failed=sum(row["failed"] or 0 for row in rows),
            up_votes=votes[0] if votes else 0,
            down_votes=votes[1] if votes else 0,
            used_today=used_today or 0,
            limits=await self.limits(guild_id),
        )

    async def gaps(self, guild_id: int, limit: int = 15) -> list[Gap]:
        """Questions the knowledge base served poorly: weak matches, 👎 votes, escalations."""
        since = self.clock.now() - timedelta(days=self.settings.qa_gaps_days)
        rows = await self.db.fetch_all(
            "SELECT q.normalized, max(q.question) AS example, count(*) AS asked,"
            " sum(q.coverage IS NULL OR q.coverage < ?) AS weak,"
            " sum((SELECT count(*) FROM qa_votes v WHERE v.question_id = q.id AND v.vote < 0))"
            "   AS downs,"
            " sum((SELECT count(*) FROM qa_escalations e WHERE e.question_id = q.id)) AS escalated,"
            " max(q.created_at) AS last_asked "
            "FROM qa_questions q WHERE q.guild_id = ? AND q.created_at >= ? AND q.user_id != 0"
            " AND q.status != 'refused' AND q.normalized != '' "
            "GROUP BY q.normalized HAVING weak > 0 OR downs > 0 OR escalated > 0 "
            "ORDER BY weak + 2 * downs + 3 * escalated DESC, asked DESC, last_asked DESC LIMIT ?",
            (self.settings.qa_min_coverage, guild_id, to_db_time(since), limit),
        )
        return [
            Gap(
                question=row["example"],
                asked=row["asked"],
                weak=row["weak"],
                down_votes=row["downs"],
                escalations=row["escalated"],
                last_asked=from_db_time(row["last_asked"]),
            )
            for row in rows
        ]

    # --- Retention and privacy --------------------------------------------------------

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
        return total

    # --- Internals --------------------------------------------------------------------

    async def _check_rate(
        self, conn: aiosqlite.Connection, guild_id: int, user_id: int, now: datetime
    ) -> None:
        window = timedelta(minutes=self.settings.qa_rate_window_minutes)
        rows = await (
            await conn.execute(
                "SELECT created_at FROM qa_questions WHERE guild_id = ? AND user_id = ?"
                " AND created_at > ? AND status != 'failed' ORDER BY created_at DESC LIMIT ?",
                (guild_id, user_id, to_db_time(now - window), self.settings.qa_rate_count),
            )
        ).fetchall()
        if len(rows) >= self.settings.qa_rate_count:
            oldest = from_db_time(rows[-1][0])
            wait = (oldest + window - now).total_seconds()
            raise RateLimited(
                f"You've asked {len(rows)} questions in the last "
                f"{self.settings.qa_rate_window_minutes} minutes. "
                f"You can ask again {format_wait(wait)}.",
                wait,
            )

    async def _check_budgets(
        self, conn: aiosqlite.Connection, guild_id: int, user_id: int, now: datetime
    ) -> None:
        limits = await self.limits(guild_id)
        day = to_db_time(_day_start(now))
        wait = (_day_start(now) + timedelta(days=1) - now).total_seconds()
        row = await (
            await conn.execute(
                "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0),"
                " coalesce(sum(CASE WHEN user_id = ?"
                "   THEN prompt_tokens + completion_tokens END), 0)"
                " FROM qa_questions WHERE guild_id = ? AND created_at >= ?",
                (user_id, guild_id, day),
            )
        ).fetchone()
        guild_used, member_used = row[0], row[1]
        if limits.member_daily_tokens and member_used >= limits.member_daily_tokens:
            raise RateLimited(
                f"You've used today's question budget ({limits.member_daily_tokens:,} tokens). "
                f"It resets at midnight UTC: you can ask again {format_wait(wait)}.",
                wait,
            )
        if limits.guild_daily_tokens and guild_used >= limits.guild_daily_tokens:
            raise RateLimited(
                "This server has used today's question budget "
                f"({limits.guild_daily_tokens:,} tokens). It resets at midnight UTC: "
                f"you can ask again {format_wait(wait)}.",
                wait,
            )

    async def _conversation(self, ticket: Ticket) -> tuple[int | None, list[Turn], bool]:
        """(thread id, earlier turns, whether the start was lost) for a Q&A thread."""
        row = await self.db.fetch_one(
            "SELECT thread_id, question_id FROM qa_threads WHERE thread_id = ? AND guild_id = ?",
            (ticket.channel_id, ticket.guild_id),
        )
        if row is None:
            return None, [], False
        thread_id = row["thread_id"]
        rows = await self.db.fetch_all(
            "SELECT question, answer FROM qa_questions WHERE (id = ? OR thread_id = ?)"
            " AND id != ? AND status IN ('answered', 'stopped') AND answer IS NOT NULL"
            " AND user_id != 0 ORDER BY id",
            (row["question_id"] or -1, thread_id, ticket.question_id),
        )
        turns = [Turn(r["question"], r["answer"]) for r in rows]
        # Threads open only under answered questions: no turn at all means the start was
        # deleted (retention, erasure) since.
        return thread_id, turns, not turns

    async def _retrieve(self, ticket: Ticket, turns: list[Turn]) -> Retrieval:
        limit = max(self.settings.qa_passages, self.settings.qa_excerpts)
        retrieval = await self.kb.search(ticket.guild_id, ticket.question, limit)
        if turns and not retrieval.covers(self.settings.qa_min_coverage):
            widened = await self.kb.search(
                ticket.guild_id, f"{ticket.question} {turns[-1].question}", limit
            )
            if widened.passages:
                return widened
        return retrieval

    async def _matching_challenge(self, ticket: Ticket) -> OpenChallenge | None:
        if self.open_challenges is None:
            return None
        try:
            challenges = await self.open_challenges.open_challenges(ticket.guild_id)
        except Exception:
            log.exception("Could not read the open challenges of guild %s", ticket.guild_id)
            return None
        return matching_challenge(ticket.question, challenges, self.settings.qa_spoiler_overlap)

    async def _member(self, ticket: Ticket) -> MemberContext | None:
        if self.member_context is None:
            return None
        try:
            return await self.member_context.member_context(ticket.guild_id, ticket.user_id)
        except Exception:
            log.exception("Could not read the roadmap context of user %s", ticket.user_id)
            return None

    def _cache_key(self, question: str, version: str, member: MemberContext | None) -> str:
        personal = "" if member is None else repr(astuple(member))
        raw = "\x1f".join(
            (normalize_question(question), version, self.settings.llm_model, personal)
        )
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    async def _cached(self, guild_id: int, cache_key: str) -> tuple[str, list[dict]] | None:
        since = self.clock.now() - timedelta(hours=self.settings.qa_cache_hours)
        row = await self.db.fetch_one(
            "SELECT q.answer, q.sources FROM qa_questions q WHERE q.guild_id = ?"
            " AND q.cache_key = ? AND q.created_at >= ? AND q.status = 'answered'"
            " AND q.answer IS NOT NULL AND NOT EXISTS (SELECT 1 FROM qa_votes v"
            " WHERE v.question_id = q.id AND v.vote < 0) ORDER BY q.id DESC LIMIT 1",
            (guild_id, cache_key, to_db_time(since)),
        )
        if row is None:
            return None
        return row["answer"], json.loads(row["sources"] or "[]")

    def _ready(
        self,
        ticket: Ticket,
        mode: AnswerMode,
        text: str,
        shown: tuple[Passage, ...] | list[Passage],
        covered: bool,
        thread_id: int | None,
        notes: list[str],
        challenge: OpenChallenge | None,
    ) -> Plan:
        return Plan(
            ticket=ticket,
            mode=mode,
            streams=False,
            passages=tuple(shown),
            covered=covered,
            text=text,
            citations=answers.citations(list(shown)),
            messages=(),
            hint_for=challenge,
            personalized=False,
            cache_key=None,
            thread_id=thread_id,
            notes=tuple(notes),
        )

    async def _set_status(self, question_id: int, status: str, *, error: str | None) -> None:
        await self.db.execute(
            "UPDATE qa_questions SET status = ?, error = ?, answered_at = ? WHERE id = ?",
            (status, error, to_db_time(self.clock.now()), question_id),
        )

    async def _tally(self, question_id: int) -> tuple[int, int]:
        row = await self.db.fetch_one(
            "SELECT coalesce(sum(vote > 0), 0), coalesce(sum(vote < 0), 0) FROM qa_votes"
            " WHERE question_id = ?",
            (question_id,),
        )
        return (row[0], row[1]) if row else (0, 0)


def _day_start(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _sources_json(citations: tuple[Citation, ...]) -> str:
    return json.dumps([asdict(c) for c in citations])
