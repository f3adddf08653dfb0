"""Q&A: questions in, grounded answers out, within limits the moderators control.

A question goes `reserve` (checks and records it, fast, before the cog defers) -> `answer`,
the one entry point the cog and the tests call: `prepare` (retrieval, context, cache,
spoilers: a `Plan`) -> either the model, streamed (`open_stream`, then `complete`), or a
ready answer (`deliver`). `fail` records an LLM failure without charging tokens; on an
exhausted quota it answers from retrieval instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, astuple, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from openai import AsyncOpenAI

from bot.clock import Clock, to_db_time
from bot.config import Settings
from bot.db import Database
from bot.errors import DomainError, PermissionDenied
from bot.markdown import plain_links, urls_in
from bot.metrics import Metrics
from bot.services.contracts import (
    MemberContext,
    MemberContextSource,
    OpenChallenge,
    OpenChallengeSource,
)
from bot.services.qa import answers
from bot.services.qa.analysis import normalize_question
from bot.services.qa.feedback import QAFeedback
from bot.services.qa.kb import KnowledgeBase
from bot.services.qa.limits import QALimits
from bot.services.qa.llm import ChatStream, FailureKind, LLMFailure, moderation_flagged
from bot.services.qa.models import Answer, AnswerMode, Citation, Plan, Ticket
from bot.services.qa.privacy import QAPrivacy
from bot.services.qa.prompt import Turn, build_messages, cited_numbers, trim_history
from bot.services.qa.reports import QAReports
from bot.services.qa.retrieval import Passage, Retrieval, TextSearch
from bot.services.qa.spoilers import matching_challenge, redact, safe_prefix
from bot.services.scheduled_posts import PostKey

if TYPE_CHECKING:
    from bot.services.qa.vectors import VectorSearch

log = logging.getLogger(__name__)

DISCORD_HOSTS = ("discord.com", "ptb.discord.com", "canary.discord.com", "discordapp.com")
REFUSED_MESSAGE = "I can't help with that question here. Please ask about learning AI engineering."
QUOTA_KIND = "qa:quota"  # the moderators' notice that the model's quota ran out

# Called with the part of a streaming answer that may be shown so far.
Progress = Callable[[str], Awaitable[None]]


class NotAnswered(DomainError):
    """The model failed (`failure`) and nothing could answer instead; the question is
    recorded as failed and costs the member nothing."""

    def __init__(self, failure: LLMFailure) -> None:
        super().__init__(f"⚠️ {failure.message} Nothing was counted against your question budget.")
        self.failure = failure


class QAService:
    privacy_section = "qa"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        llm: AsyncOpenAI | None = None,
        *,
        search: TextSearch,
        member_context: MemberContextSource | None = None,
        open_challenges: OpenChallengeSource | None = None,
        kb: KnowledgeBase | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.clock = clock
        self.settings = settings
        self.llm = llm
        self.member_context = member_context
        self.open_challenges = open_challenges
        self.kb = kb or KnowledgeBase(
            db,
            clock,
            search,
            chunk_chars=settings.qa_chunk_chars,
            max_documents=settings.qa_max_documents,
            doc_max_bytes=settings.qa_doc_max_bytes,
            vectors=build_vector_search(db, clock, settings, llm, metrics),
        )
        self.limits = QALimits(db, clock, settings)
        self.feedback = QAFeedback(db, clock, self.kb)
        self.reports = QAReports(db, clock, settings, self.limits)
        self._privacy = QAPrivacy(db, clock, self.kb)
        self._quota_paused_until: datetime | None = None
        # Answers streaming now: question id -> (stream, the asker's id).
        self._running: dict[int, tuple[ChatStream, int]] = {}

    @property
    def llm_available(self) -> bool:
        if self.llm is None:
            return False
        paused = self._quota_paused_until
        return paused is None or self.clock.now() >= paused

    # --- Asking -------------------------------------------------------------------

    async def reserve(
        self, guild_id: int, user_id: int, channel_id: int, question: str, *, public: bool = False
    ) -> Ticket:
        """Check the question and the member's limits, then record it as pending.

        `public` says whether the answer is shown to the channel: only public questions
        join the history other members' follow-ups send to the model. Fast (no network),
        so the cog can refuse ephemerally before it defers.
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
            await self.limits.check_rate(conn, guild_id, user_id, now)
            if self.llm is not None:
                await self.limits.check_budgets(conn, guild_id, user_id, now)
            new_id = await conn.fetch_value(
                "INSERT INTO qa_questions (guild_id, user_id, channel_id, question, normalized,"
                " public, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    guild_id,
                    user_id,
                    channel_id,
                    text,
                    normalize_question(text),
                    int(public),
                    to_db_time(now),
                ),
            )
            question_id = new_id
        return Ticket(question_id, guild_id, user_id, channel_id, text)

    async def answer(self, ticket: Ticket, progress: Progress | None = None) -> Answer:
        """Answer a reserved question, from the model (streamed: `progress` gets what may be
        shown so far, at most once per QA_EDIT_INTERVAL_SECONDS) or ready-made.

        A DomainError carries the reason fit for the member when the question is refused
        after all (moderation) or the model failed with nothing to answer instead
        (`NotAnswered`); the question is recorded as such. Any other error marks it failed,
        so it counts against neither the rate limit nor the budget, and propagates.
        """
        try:
            plan = await self.prepare(ticket)
            if not plan.streams:
                return await self.deliver(plan)
            return await self._stream(plan, progress)
        except NotAnswered:
            raise
        except DomainError as error:
            await self.refuse(ticket, error.message)
            raise
        except Exception as error:
            await self.abandon(ticket, type(error).__name__)
            raise

    async def _stream(self, plan: Plan, progress: Progress | None) -> Answer:
        question_id = plan.ticket.question_id
        stream = self.open_stream(plan)
        self._running[question_id] = (stream, plan.ticket.user_id)
        interval = self.settings.qa_edit_interval_seconds
        loop = asyncio.get_running_loop()
        last_shown = float("-inf")
        try:
            async with contextlib.aclosing(aiter(stream)) as deltas:
                async for _ in deltas:
                    if progress is not None and loop.time() - last_shown >= interval:
                        last_shown = loop.time()
                        await progress(self.display(plan, stream.text))
            return await self.complete(plan, stream)
        except LLMFailure as failure:
            fallback = await self.fail(plan, failure)
            if fallback is None:
                raise NotAnswered(failure) from None
            return fallback
        finally:
            self._running.pop(question_id, None)

    def stop(self, question_id: int, user_id: int, *, moderator: bool) -> bool:
        """Stop an answer while it streams: its asker or a moderator may. False when it has
        finished already."""
        running = self._running.get(question_id)
        if running is None:
            return False
        stream, asker = running
        if user_id != asker and not moderator:
            raise PermissionDenied("Only the member who asked can stop this answer.")
        stream.stop()
        return True

    def stop_all(self) -> None:
        """Stop every answer streaming now (the cog is unloading)."""
        for stream, _ in self._running.values():
            stream.stop()

    def quota_notice(self, guild_id: int) -> PostKey:
        """The moderators hear once a day per server that the model's quota ran out: the key
        of today's notice."""
        return PostKey(guild_id, QUOTA_KIND, self.clock.now().date().isoformat())

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
        # Passages that don't cover the question are never presented as its answer.
        passages = retrieval.passages[: self.settings.qa_passages] if covered else ()

        if not self.llm_available:
            if self.llm is not None:
                notes.append(answers.QUOTA_NOTE)
            if challenge is not None:
                text = answers.hint_pointers(challenge, passages[: self.settings.qa_excerpts])
                mode = AnswerMode.HINT
            else:
                text = answers.excerpts(
                    passages[: self.settings.qa_excerpts], covered, ticket.question
                )
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
        instructions, and no masked link to anywhere but the knowledge base's own links
        and this server."""
        if answers.leaks(text):
            return answers.REFUSAL
        if plan.hint_for is not None:
            text = safe_prefix(text, plan.hint_for.answer)
        return plain_links(text, self._trusted_link(plan))

    def _trusted_link(self, plan: Plan) -> Callable[[str], bool]:
        """A masked link may stay masked only when it points to a URL the knowledge base
        itself gave the model, or to this Discord server."""
        known: set[str] = set()
        for passage in plan.passages:
            known |= urls_in(passage.text)
        guild = plan.ticket.guild_id
        server = tuple(f"https://{host}/channels/{guild}/" for host in DISCORD_HOSTS)
        return lambda url: url in known or url.startswith(server)

    async def complete(self, plan: Plan, stream: ChatStream) -> Answer:
        """Record a streamed answer (finished or stopped) with its tokens."""
        text = stream.text.strip()
        usage = stream.usage()
        if self.metrics is not None:
            self.metrics.llm_requests.inc()
            self.metrics.llm_tokens.inc(usage.total)
        if not text and not stream.stopped:
            raise LLMFailure(FailureKind.SERVER, "the model returned an empty answer")
        if answers.leaks(text):
            log.warning("Answer to question %s repeated the instructions", plan.ticket.question_id)
            text = answers.REFUSAL
        if plan.hint_for is not None:
            text = redact(text, plan.hint_for.answer)
        text = plain_links(text, self._trusted_link(plan))
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
        if self.metrics is not None:
            self.metrics.llm_requests.inc()
            self.metrics.llm_errors.inc()
        # The question's id, never its text: logs hold nothing a member typed.
        log.warning(
            "LLM failed for question %s in guild %s (%s): %s",
            ticket.question_id,
            ticket.guild_id,
            failure.kind.value,
            failure.detail.replace(ticket.question, "[the question]"),
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
            text = answers.excerpts(shown, plan.covered, ticket.question)
            mode = AnswerMode.EXCERPTS
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

    # --- Retention and privacy (MemberDataSource) ---------------------------------

    async def purge_older_than(self, cutoff: datetime) -> int:
        """Delete questions (with their votes and escalations) asked before `cutoff`."""
        return await self._privacy.purge_older_than(cutoff)

    async def export_member(self, user_id: int) -> dict[str, Any]:
        return await self._privacy.export_member(user_id)

    async def delete_member(self, user_id: int) -> int:
        return await self._privacy.delete_member(user_id)

    async def delete_guild(self, guild_id: int) -> int:
        return await self._privacy.delete_guild(guild_id)

    # --- Internals --------------------------------------------------------------------

    async def _conversation(self, ticket: Ticket) -> tuple[int | None, list[Turn], bool]:
        """(thread id, earlier turns, whether the start was lost) for a Q&A thread."""
        row = await self.db.fetch_one(
            "SELECT thread_id, question_id FROM qa_threads WHERE thread_id = ? AND guild_id = ?",
            (ticket.channel_id, ticket.guild_id),
        )
        if row is None:
            return None, [], False
        thread_id = row["thread_id"]
        # Only what the asker may see: their own questions and the thread's public ones.
        rows = await self.db.fetch_all(
            "SELECT question, answer FROM qa_questions WHERE (id = ? OR thread_id = ?)"
            " AND id != ? AND status IN ('answered', 'stopped') AND answer IS NOT NULL"
            " AND user_id != 0 AND (public = 1 OR user_id = ?) ORDER BY id",
            (row["question_id"] or -1, thread_id, ticket.question_id, ticket.user_id),
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


def build_vector_search(
    db: Database,
    clock: Clock,
    settings: Settings,
    llm: AsyncOpenAI | None,
    metrics: Metrics | None,
) -> VectorSearch | None:
    """Semantic retrieval when LLM_EMBEDDING_MODEL is set (numpy is imported only then)."""
    if llm is None or not settings.embeddings_enabled or settings.llm_embedding_model is None:
        return None
    from bot.services.qa.vectors import Embedder, VectorSearch

    return VectorSearch(
        db,
        clock,
        Embedder(llm, settings.llm_embedding_model, metrics),
        batch=settings.qa_embedding_batch,
        timeout=settings.qa_embedding_timeout_seconds,
        min_similarity=settings.qa_embedding_min_similarity,
        metrics=metrics,
    )


def _sources_json(citations: tuple[Citation, ...]) -> str:
    return json.dumps([asdict(c) for c in citations])
