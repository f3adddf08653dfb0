"""Submitting requests and moving them through their states.

open -> claimed -> reviewed; open or claimed -> withdrawn; open -> expired; claimed ->
open (unclaim, or a claim that ran out). Every change is one conditional UPDATE whose
WHERE clause holds the rule, so two clicks at the same moment cannot both win; when an
UPDATE changes nothing, the request is read again and the refusal says why.
"""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_db_time
from bot.db import Transaction
from bot.errors import DomainError, PermissionDenied
from bot.services.portfolio import refusals
from bot.services.portfolio.base import PortfolioBase, load_in
from bot.services.portfolio.drafts import RequestDraft, ResubmitDraft, ReviewDraft
from bot.services.portfolio.models import (
    Actor,
    PostLocation,
    Request,
    Review,
    ReviewOutcome,
    Status,
    Transition,
)
from bot.services.portfolio.notices import (
    RATED_DM_KIND,
    REVIEW_DM_KIND,
    REVIEW_KIND,
    plan_notice,
)
from bot.services.portfolio.rubric import CRITERIA_KEYS
from bot.services.scheduled_posts import (
    TRANSFER_FROM_KIND,
    TRANSFER_TO_KIND,
    WITHDRAWN_DM_KIND,
    PostKey,
)

ACTIVE_SQL = "('open', 'claimed')"
BUMP = "post_version = post_version + 1"


REVIEWED_KINDS = (REVIEW_KIND, REVIEW_DM_KIND)


class Lifecycle(PortfolioBase):
    # --- Submitting -----------------------------------------------------------

    async def ensure_can_submit(self, guild_id: int, owner_id: int) -> None:
        """Refuse early (before the form) when the member is at the open-request limit."""
        active = await self.db.fetch_all(
            "SELECT id FROM portfolio_requests WHERE owner_id = ? AND guild_id = ? "
            f"AND status IN {ACTIVE_SQL} ORDER BY id",
            (owner_id, guild_id),
        )
        self._check_limit([row["id"] for row in active])

    async def submit(self, guild_id: int, owner_id: int, draft: RequestDraft) -> Request:
        """Store a first round; the caller posts it and then calls `attach_post`."""
        self.rubric.archetype(draft.archetype)
        now = self.now()
        async with self.db.transaction() as conn:
            await self._check_limit_in(conn, guild_id, owner_id)
            credit = await self._credit(conn, guild_id, owner_id, now)
            new_id = await conn.fetch_value(
                "INSERT INTO portfolio_requests (guild_id, owner_id, archetype, title, repo_url, "
                "demo_url, description, feedback_wanted, self_check, credit_reviews, queue_at, "
                "open_since, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (
                    guild_id,
                    owner_id,
                    draft.archetype,
                    draft.title,
                    draft.repo_url,
                    draft.demo_url,
                    draft.description,
                    draft.feedback_wanted,
                    draft.self_check,
                    credit,
                    to_db_time(now - credit * self.rules.credit_per_review),
                    to_db_time(now),
                    to_db_time(now),
                ),
            )
            return await load_in(conn, guild_id, new_id)

    async def ensure_can_resubmit(self, guild_id: int, owner_id: int, request_id: int) -> Request:
        """The reviewed round a new one would follow, or the reason there can't be one."""
        previous = await self.get(guild_id, request_id)
        await self._check_resubmittable(None, previous, Actor(owner_id))
        await self.ensure_can_submit(guild_id, owner_id)
        return previous

    async def resubmit(
        self, guild_id: int, owner_id: int, previous_id: int, draft: ResubmitDraft
    ) -> Request:
        """Open the next round of a reviewed project, linked to the round it follows."""
        now = self.now()
        async with self.db.transaction() as conn:
            previous = await load_in(conn, guild_id, previous_id)
            await self._check_resubmittable(conn, previous, Actor(owner_id))
            await self._check_limit_in(conn, guild_id, owner_id)
            credit = await self._credit(conn, guild_id, owner_id, now)
            last_round = await conn.fetch_value(
                "SELECT max(round) FROM portfolio_requests WHERE id = ? OR root_id = ?",
                (previous.project_id, previous.project_id),
            )
            new_id = await conn.fetch_value(
                "INSERT INTO portfolio_requests (guild_id, owner_id, archetype, title, repo_url, "
                "demo_url, description, feedback_wanted, self_check, round, root_id, "
                "previous_id, change_note, credit_reviews, queue_at, open_since, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    guild_id,
                    owner_id,
                    previous.archetype,
                    previous.title,
                    draft.repo_url,
                    draft.demo_url,
                    draft.description,
                    draft.feedback_wanted,
                    draft.self_check,
                    last_round + 1,
                    previous.project_id,
                    previous.id,
                    draft.change_note,
                    credit,
                    to_db_time(now - credit * self.rules.credit_per_review),
                    to_db_time(now),
                    to_db_time(now),
                ),
            )
            return await load_in(conn, guild_id, new_id)

    async def attach_post(self, guild_id: int, request_id: int, post: PostLocation) -> Request:
        """Remember where the request was posted; the post now shows its current state."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE portfolio_requests SET channel_id = ?, post_channel_id = ?, "
                "message_id = ?, thread_id = ? WHERE id = ? AND guild_id = ?",
                (
                    post.channel_id,
                    post.post_channel_id,
                    post.message_id,
                    post.thread_id,
                    request_id,
                    guild_id,
                ),
            )
            return await load_in(conn, guild_id, request_id)

    async def discard_unposted(self, guild_id: int, request_id: int) -> None:
        """Posting failed: drop the request, so the member's limit and the queue stay true."""
        await self.db.execute(
            "DELETE FROM portfolio_requests WHERE id = ? AND guild_id = ? AND message_id IS NULL "
            "AND status = 'open'",
            (request_id, guild_id),
        )

    # --- Transitions ----------------------------------------------------------

    async def claim(self, guild_id: int, request_id: int, actor: Actor) -> Transition:
        if not (actor.is_reviewer or actor.is_moderator):
            raise PermissionDenied(
                "Only reviewers and moderators can claim review requests "
                "(the reviewer role is set with /config role)."
            )
        changed, request = await self._update(
            guild_id,
            request_id,
            "UPDATE portfolio_requests SET status = 'claimed', reviewer_id = ?, claimed_at = ?, "
            f"reminded_at = NULL, {BUMP} "
            "WHERE id = ? AND guild_id = ? AND status = 'open' AND owner_id <> ?",
            (actor.user_id, to_db_time(self.now()), request_id, guild_id, actor.user_id),
        )
        if not changed:
            raise refusals.refuse_claim(request, actor)
        return Transition(request)

    async def unclaim(self, guild_id: int, request_id: int, actor: Actor) -> Transition:
        """The claimant (or a moderator) hands the request back to the queue."""
        now = to_db_time(self.now())
        async with self.db.transaction() as conn:
            before = await load_in(conn, guild_id, request_id)
            changed = await conn.execute(
                "UPDATE portfolio_requests SET status = 'open', reviewer_id = NULL, "
                "claimed_at = NULL, open_since = ?, nudged_at = NULL, reminded_at = NULL, "
                f"{BUMP} WHERE id = ? AND guild_id = ? AND status = 'claimed' "
                "AND (reviewer_id = ? OR ?)",
                (now, request_id, guild_id, actor.user_id, actor.is_moderator),
            )
            request = await load_in(conn, guild_id, request_id)
        if changed != 1:
            raise refusals.refuse_unclaim(request, actor)
        return Transition(request, before.reviewer_id)

    async def ensure_can_withdraw(self, guild_id: int, request_id: int, actor: Actor) -> Request:
        """Check before asking "are you sure?"; `withdraw` checks again atomically."""
        request = await self.get(guild_id, request_id)
        if request.owner_id != actor.user_id or not request.is_active:
            raise refusals.refuse_withdraw(request, actor)
        return request

    async def withdraw(self, guild_id: int, request_id: int, actor: Actor) -> Transition:
        moment = self.now()
        now = to_db_time(moment)
        notices: tuple[PostKey, ...] = ()
        async with self.db.transaction() as conn:
            before = await load_in(conn, guild_id, request_id)
            changed = await conn.execute(
                f"UPDATE portfolio_requests SET status = 'withdrawn', closed_at = ?, {BUMP} "
                f"WHERE id = ? AND guild_id = ? AND status IN {ACTIVE_SQL} AND owner_id = ?",
                (now, request_id, guild_id, actor.user_id),
            )
            if changed == 1 and before.status is Status.CLAIMED:
                notices = (
                    await plan_notice(
                        conn, WITHDRAWN_DM_KIND, before, moment, recipient=before.reviewer_id
                    ),
                )
            request = await load_in(conn, guild_id, request_id)
        if changed != 1:
            raise refusals.refuse_withdraw(request, actor)
        return Transition(request, before.reviewer_id, notices)

    async def ensure_can_review(self, guild_id: int, request_id: int, actor: Actor) -> Request:
        """Check before opening the review form; `submit_review` checks again atomically."""
        request = await self.get(guild_id, request_id)
        if request.status is not Status.CLAIMED or request.reviewer_id != actor.user_id:
            raise refusals.refuse_review(request, actor)
        return request

    async def submit_review(
        self, guild_id: int, request_id: int, actor: Actor, draft: ReviewDraft
    ) -> ReviewOutcome:
        if tuple(draft.scores) != CRITERIA_KEYS:
            raise DomainError("A review needs one score for each rubric criterion.")
        moment = self.now()
        now = to_db_time(moment)
        notices: tuple[PostKey, ...] = ()
        async with self.db.transaction() as conn:
            changed = await conn.execute(
                f"UPDATE portfolio_requests SET status = 'reviewed', closed_at = ?, {BUMP} "
                "WHERE id = ? AND guild_id = ? AND status = 'claimed' AND reviewer_id = ?",
                (now, request_id, guild_id, actor.user_id),
            )
            if changed == 1:
                columns = ", ".join(f"score_{key}" for key in CRITERIA_KEYS)
                await conn.execute(
                    f"INSERT INTO portfolio_reviews (request_id, guild_id, reviewer_id, {columns}, "
                    "strengths, improvements, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        request_id,
                        guild_id,
                        actor.user_id,
                        *(draft.scores[key] for key in CRITERIA_KEYS),
                        draft.strengths,
                        draft.improvements,
                        now,
                    ),
                )
            request = await load_in(conn, guild_id, request_id)
            if changed == 1:
                notices = tuple(
                    [await plan_notice(conn, k, request, moment) for k in REVIEWED_KINDS]
                )
        if changed != 1:
            raise refusals.refuse_review(request, actor)
        review = await self.review_of(request_id)
        assert review is not None
        return ReviewOutcome(request, review, notices)

    async def attach_review_message(self, request_id: int, message_id: int) -> None:
        await self.db.execute(
            "UPDATE portfolio_reviews SET message_id = ? WHERE request_id = ?",
            (message_id, request_id),
        )

    async def ensure_can_rate(self, guild_id: int, request_id: int, actor: Actor) -> Review:
        request = await self.get(guild_id, request_id)
        review = await self.review_of(request_id)
        if (
            request.owner_id != actor.user_id
            or request.status is not Status.REVIEWED
            or review is None
            or review.helpful is not None
        ):
            raise refusals.refuse_rate(request, actor, review.helpful if review else None)
        return review

    async def rate(
        self, guild_id: int, request_id: int, actor: Actor, helpful: int, comment: str | None
    ) -> ReviewOutcome:
        """The owner says how helpful the review was (1 to 5), once."""
        if helpful not in range(1, 6):
            raise DomainError("Helpful must be a whole number from 1 to 5.")
        moment = self.now()
        now = to_db_time(moment)
        notices: tuple[PostKey, ...] = ()
        async with self.db.transaction() as conn:
            changed = await conn.execute(
                "UPDATE portfolio_reviews SET helpful = ?, rating_comment = ?, rated_at = ? "
                "WHERE request_id = ? AND helpful IS NULL AND request_id IN ("
                " SELECT id FROM portfolio_requests WHERE id = ? AND guild_id = ? "
                " AND owner_id = ? AND status = 'reviewed')",
                (helpful, comment, now, request_id, request_id, guild_id, actor.user_id),
            )
            if changed == 1:
                await conn.execute(
                    f"UPDATE portfolio_requests SET {BUMP} WHERE id = ?", (request_id,)
                )
            request = await load_in(conn, guild_id, request_id)
            if changed == 1:
                notices = (await plan_notice(conn, RATED_DM_KIND, request, moment),)
        review = await self.review_of(request_id)
        if changed != 1 or review is None:
            raise refusals.refuse_rate(request, actor, review.helpful if review else None)
        return ReviewOutcome(request, review, notices)

    async def transfer(
        self,
        guild_id: int,
        request_id: int,
        actor: Actor,
        to_user_id: int,
        *,
        target_is_reviewer: bool,
    ) -> Transition:
        """A moderator gives a claimed request to another reviewer."""
        if not actor.is_moderator:
            raise PermissionDenied("Only moderators can transfer a review request.")
        if not target_is_reviewer:
            raise DomainError(
                "That member isn't a reviewer: give them the reviewer role first "
                "(or pick a moderator)."
            )
        moment = self.now()
        now = to_db_time(moment)
        notices: tuple[PostKey, ...] = ()
        async with self.db.transaction() as conn:
            before = await load_in(conn, guild_id, request_id)
            changed = await conn.execute(
                "UPDATE portfolio_requests SET reviewer_id = ?, claimed_at = ?, "
                f"reminded_at = NULL, {BUMP} WHERE id = ? AND guild_id = ? "
                "AND status = 'claimed' AND reviewer_id = ? AND reviewer_id <> ? "
                "AND owner_id <> ?",
                (
                    to_user_id,
                    now,
                    request_id,
                    guild_id,
                    before.reviewer_id,
                    to_user_id,
                    to_user_id,
                ),
            )
            request = await load_in(conn, guild_id, request_id)
            if changed == 1:
                notices = (
                    await plan_notice(
                        conn,
                        TRANSFER_TO_KIND,
                        request,
                        moment,
                        recipient=to_user_id,
                        claimed_at=moment,
                    ),
                    await plan_notice(
                        conn,
                        TRANSFER_FROM_KIND,
                        request,
                        moment,
                        recipient=before.reviewer_id,
                        claimed_at=moment,
                    ),
                )
        if changed != 1:
            raise refusals.refuse_transfer(request, to_user_id)
        return Transition(request, before.reviewer_id, notices)

    # --- Helpers --------------------------------------------------------------

    async def _update(
        self, guild_id: int, request_id: int, sql: str, params: tuple[object, ...]
    ) -> tuple[bool, Request]:
        async with self.db.transaction() as conn:
            changed = await conn.execute(sql, params)
            request = await load_in(conn, guild_id, request_id)
        return changed == 1, request

    def _check_limit(self, active_ids: list[int]) -> None:
        if len(active_ids) >= self.rules.max_open:
            listed = ", ".join(f"#{n}" for n in active_ids)
            raise DomainError(
                f"You already have {len(active_ids)} review requests waiting ({listed}); the "
                f"limit is {self.rules.max_open}. Withdraw one or wait for its review first."
            )

    async def _check_limit_in(self, tx: Transaction, guild_id: int, owner_id: int) -> None:
        """Refuse past the open-request limit; the lock makes two submissions count in turn."""
        await tx.lock("portfolio-owner", guild_id, owner_id)
        rows = await tx.fetch_all(
            "SELECT id FROM portfolio_requests WHERE owner_id = ? AND guild_id = ? "
            f"AND status IN {ACTIVE_SQL} ORDER BY id",
            (owner_id, guild_id),
        )
        self._check_limit([row[0] for row in rows])

    async def _credit(self, tx: Transaction, guild_id: int, owner_id: int, now: datetime) -> int:
        """Give to get: reviews this member gave others in the window, up to the cap."""
        given = await tx.fetch_value(
            "SELECT count(*) FROM portfolio_reviews WHERE guild_id = ? AND reviewer_id = ? "
            "AND created_at >= ?",
            (guild_id, owner_id, to_db_time(now - self.rules.credit_window)),
        )
        return min(given, self.rules.credit_max_reviews)

    async def _check_resubmittable(
        self, conn: Transaction | None, previous: Request, actor: Actor
    ) -> None:
        sql = (
            "SELECT max(round) FROM portfolio_requests WHERE (id = ? OR root_id = ?) "
            "AND round > ? AND (status IN ('open', 'claimed', 'reviewed'))"
        )
        params = (previous.project_id, previous.project_id, previous.round)
        if conn is None:
            newer = await self.db.fetch_value(sql, params)
        else:
            newer = await conn.fetch_value(sql, params)
        if (
            previous.owner_id != actor.user_id
            or newer is not None
            or previous.status is not Status.REVIEWED
        ):
            raise refusals.refuse_resubmit(previous, actor, newer_round=newer)
