"""Reading: the review queue with give-to-get, a member's requests, history and statistics."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.clock import from_db_time
from bot.db import from_row
from bot.services.portfolio.base import PortfolioBase
from bot.services.portfolio.models import (
    History,
    PortfolioStats,
    QueueEntry,
    QueuePage,
    Request,
    RequestPage,
    ReviewerStats,
    Round,
    Status,
)

REVIEWERS_SHOWN = 15
SEARCH_LIMIT = 25


class Insights(PortfolioBase):
    async def queue(
        self, guild_id: int, *, archetype: str | None = None, page: int = 1
    ) -> QueuePage:
        """Open requests in queue order: oldest first, moved up for reviews given."""
        if archetype is not None:
            self.rubric.archetype(archetype)
        where = "guild_id = ? AND status = 'open'"
        params: list[object] = [guild_id]
        if archetype is not None:
            where += " AND archetype = ?"
            params.append(archetype)
        total = await self.db.fetch_value(
            f"SELECT count(*) FROM portfolio_requests WHERE {where}", params
        )
        size = self.rules.page_size
        pages = max(1, math.ceil(total / size))
        page = min(max(1, page), pages)
        rows = await self.db.fetch_all(
            f"SELECT * FROM portfolio_requests WHERE {where} ORDER BY queue_at, id "
            "LIMIT ? OFFSET ?",
            [*params, size, (page - 1) * size],
        )
        now = self.now()
        entries = tuple(
            self._entry((page - 1) * size + i + 1, Request.from_row(row), now)
            for i, row in enumerate(rows)
        )
        return QueuePage(entries, total, page, pages, archetype)

    def _entry(self, position: int, request: Request, now: datetime) -> QueueEntry:
        moved_up = request.credit_reviews * self.rules.credit_per_review
        reasons: list[str] = []
        if request.credit_reviews and moved_up:
            days = _days(self.rules.credit_window)
            plural = "s" if request.credit_reviews != 1 else ""
            reasons.append(
                f"moved up {_hours(moved_up)}: reviewed {request.credit_reviews} project{plural} "
                f"for others in the {days} before asking"
            )
        else:
            reasons.append("in order of arrival")
        if request.returned_count:
            reasons.append("back in the queue after a claim ended without a review")
        if request.round > 1:
            reasons.append(f"round {request.round}: resubmitted after a review")
        return QueueEntry(position, request, now - request.created_at, moved_up, tuple(reasons))

    async def mine(self, guild_id: int, owner_id: int, *, page: int = 1) -> RequestPage:
        total = await self.db.fetch_value(
            "SELECT count(*) FROM portfolio_requests WHERE owner_id = ? AND guild_id = ?",
            (owner_id, guild_id),
        )
        size = self.rules.page_size
        pages = max(1, math.ceil(total / size))
        page = min(max(1, page), pages)
        rows = await self.db.fetch_all(
            "SELECT * FROM portfolio_requests WHERE owner_id = ? AND guild_id = ? "
            "ORDER BY id DESC LIMIT ? OFFSET ?",
            (owner_id, guild_id, size, (page - 1) * size),
        )
        return RequestPage(tuple(Request.from_row(r) for r in rows), total, page, pages)

    async def search(
        self,
        guild_id: int,
        text: str,
        *,
        owner_id: int | None = None,
        statuses: Sequence[Status] | None = None,
    ) -> list[Request]:
        """Requests for autocomplete: by id or by a piece of the title, newest first."""
        where = ["guild_id = ?"]
        params: list[object] = [guild_id]
        if owner_id is not None:
            where.append("owner_id = ?")
            params.append(owner_id)
        if statuses:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(str(s) for s in statuses)
        needle = text.strip().lstrip("#")[:50]
        if needle:
            escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            # lower() on both sides: LIKE ignores case on SQLite but not on PostgreSQL.
            where.append("(lower(title) LIKE ? ESCAPE '\\' OR id = ?)")
            params.extend([f"%{escaped.lower()}%", int(needle) if needle.isdigit() else -1])
        rows = await self.db.fetch_all(
            f"SELECT * FROM portfolio_requests WHERE {' AND '.join(where)} "
            "ORDER BY id DESC LIMIT ?",
            [*params, SEARCH_LIMIT],
        )
        return [Request.from_row(row) for row in rows]

    async def history(self, request: Request) -> History:
        """Every round of the request's project up to and including this one."""
        rows = await self.db.fetch_all(
            "SELECT id FROM portfolio_requests WHERE (id = ? OR root_id = ?) AND round <= ? "
            "AND guild_id = ? ORDER BY round, id",
            (request.project_id, request.project_id, request.round, request.guild_id),
        )
        rounds = []
        for row in rows:
            current = (
                request if row["id"] == request.id else await self.get(request.guild_id, row["id"])
            )
            rounds.append(Round(current, await self.review_of(current.id)))
        return History(tuple(rounds))

    async def stats(self, guild_id: int) -> PortfolioStats:
        by_status = {str(s): 0 for s in Status}
        for row in await self.db.fetch_all(
            "SELECT status, count(*) AS n FROM portfolio_requests WHERE guild_id = ? "
            "GROUP BY status",
            (guild_id,),
        ):
            by_status[row["status"]] = row["n"]
        waits = [
            from_db_time(row["reviewed_at"]) - from_db_time(row["asked_at"])
            for row in await self.db.fetch_all(
                "SELECT q.created_at AS asked_at, r.created_at AS reviewed_at "
                "FROM portfolio_reviews r JOIN portfolio_requests q ON q.id = r.request_id "
                "WHERE r.guild_id = ?",
                (guild_id,),
            )
        ]
        median = (
            timedelta(seconds=statistics.median(w.total_seconds() for w in waits))
            if waits
            else None
        )
        reviewers = tuple(
            from_row(ReviewerStats, row)
            for row in await self.db.fetch_all(
                "SELECT reviewer_id, count(*) AS reviews, count(helpful) AS ratings, "
                "avg(helpful) AS average_helpful, max(created_at) AS last_review_at "
                "FROM portfolio_reviews "
                "WHERE guild_id = ? AND reviewer_id <> 0 GROUP BY reviewer_id "
                "ORDER BY reviews DESC, average_helpful DESC, reviewer_id LIMIT ?",
                (guild_id, REVIEWERS_SHOWN),
            )
        )
        resubmissions = await self.db.fetch_value(
            "SELECT count(*) FROM portfolio_requests WHERE guild_id = ? AND round > 1",
            (guild_id,),
        )
        return PortfolioStats(
            total=sum(by_status.values()),
            by_status=by_status,
            median_to_review=median,
            reviewers=reviewers,
            resubmissions=resubmissions,
        )


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:.0f} days"
    return f"{hours:g} h"


def _days(delta: timedelta) -> str:
    days = delta.total_seconds() / 86400
    return f"{days:g} days" if days != 1 else "day"
