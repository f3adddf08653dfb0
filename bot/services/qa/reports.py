"""What moderators read: usage and cost per day, and the questions answered poorly."""

from __future__ import annotations

from datetime import date, timedelta

from bot.clock import Clock, to_db_time
from bot.config import Settings
from bot.db import Database, from_row
from bot.services.qa.limits import QALimits, day_start
from bot.services.qa.models import Gap, UsageDay, UsageReport


class QAReports:
    def __init__(self, db: Database, clock: Clock, settings: Settings, limits: QALimits) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.limits = limits

    async def usage(self, guild_id: int, days: int = 30) -> UsageReport:
        """Questions, tokens and estimated cost per day, newest first, and the feedback."""
        now = self.clock.now()
        start = day_start(now) - timedelta(days=days - 1)
        rows = await self.db.fetch_all(
            "SELECT substr(created_at, 1, 10) AS day, count(*) AS questions,"
            " sum(prompt_tokens + completion_tokens) AS tokens,"
            " count(*) FILTER (WHERE mode = 'cached') AS cached,"
            " count(*) FILTER (WHERE status = 'failed') AS failed "
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
            "SELECT count(*) FILTER (WHERE v.vote > 0), count(*) FILTER (WHERE v.vote < 0) "
            "FROM qa_votes v "
            "JOIN qa_questions q ON q.id = v.question_id"
            " WHERE q.guild_id = ? AND q.created_at >= ?",
            (guild_id, to_db_time(start)),
        )
        used_today = await self.db.fetch_value(
            "SELECT coalesce(sum(prompt_tokens + completion_tokens), 0) FROM qa_questions"
            " WHERE guild_id = ? AND created_at >= ?",
            (guild_id, to_db_time(day_start(now))),
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
            limits=await self.limits.get(guild_id),
        )

    async def gaps(self, guild_id: int, limit: int = 15) -> list[Gap]:
        """Questions the knowledge base served poorly: weak matches, 👎 votes, escalations."""
        since = self.clock.now() - timedelta(days=self.settings.qa_gaps_days)
        rows = await self.db.fetch_all(
            "SELECT * FROM (SELECT q.normalized, max(q.question) AS example, count(*) AS asked,"
            " count(*) FILTER (WHERE q.coverage IS NULL OR q.coverage < ?) AS weak,"
            " sum((SELECT count(*) FROM qa_votes v WHERE v.question_id = q.id AND v.vote < 0))"
            "   AS downs,"
            " sum((SELECT count(*) FROM qa_escalations e WHERE e.question_id = q.id)) AS escalated,"
            " max(q.created_at) AS last_asked "
            "FROM qa_questions q WHERE q.guild_id = ? AND q.created_at >= ? AND q.user_id != 0"
            " AND q.status != 'refused' AND q.normalized != '' GROUP BY q.normalized) AS g "
            "WHERE weak > 0 OR downs > 0 OR escalated > 0 "
            "ORDER BY weak + 2 * downs + 3 * escalated DESC, asked DESC, last_asked DESC LIMIT ?",
            (self.settings.qa_min_coverage, guild_id, to_db_time(since), limit),
        )
        return [
            from_row(
                Gap,
                row,
                question=row["example"],
                down_votes=row["downs"],
                escalations=row["escalated"],
            )
            for row in rows
        ]
