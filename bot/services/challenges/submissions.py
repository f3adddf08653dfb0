"""Answers to task challenges (daily tasks and weekly challenges) and their review."""

from __future__ import annotations

from bot.clock import Clock, to_db_time
from bot.config import Settings
from bot.db import Database, from_row
from bot.errors import DomainError, NotFound
from bot.markdown import inline
from bot.services.challenges.daily import DailyService
from bot.services.challenges.model import ReviewOutcome, Submission, SubmitResult
from bot.services.challenges.points import award
from bot.services.challenges.weekly import WeeklyService
from bot.services.links import check_link

NOTES_MAX = 1000
COMMENT_MAX = 300
WEEKLY_POINTS_MIN, WEEKLY_POINTS_MAX = 1, 100

SUBMISSION_COLUMNS = (
    "id, guild_id, kind, ref, user_id, link, notes, status, points, comment, reviewer_id,"
    " submitted_at, updated_at, version"
)


class SubmissionChanged(DomainError):
    """The member edited the submission after the review was opened; `current` is the new
    version, to be shown instead of accepting blind."""

    def __init__(self, current: Submission) -> None:
        super().__init__(
            f"Submission #{current.id} changed since you opened it (now version "
            f"{current.version}). Look at the new version and review it again."
        )
        self.current = current


class SubmissionService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        daily: DailyService,
        weekly: WeeklyService,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.daily = daily
        self.weekly = weekly

    async def target(
        self, guild_id: int, user_id: int, which: str | None
    ) -> tuple[str, str, str, Submission | None]:
        """What `/challenge submit` would answer: (kind, ref, title, the member's current one).

        `which` is 'daily', 'weekly' or None (whichever is open; the weekly wins a tie).
        """
        now = self.clock.now()
        options: list[tuple[str, str, str]] = []
        if which in (None, "weekly"):
            weekly = await self.weekly.open_weekly(guild_id)
            if weekly is not None and weekly.accepts_submissions(now):
                options.append(("weekly", str(weekly.id), weekly.title))
        if which in (None, "daily"):
            post = await self.daily.open_post(guild_id)
            if post is not None and not post.challenge.is_quiz:
                options.append(("daily", str(post.id), post.challenge.title))
        if not options:
            if which == "daily":
                raise DomainError(
                    "Today's daily challenge is not a task (quizzes are answered with their "
                    "buttons), or it is closed."
                )
            if which == "weekly":
                raise DomainError("No weekly challenge is taking submissions right now.")
            raise DomainError(
                "Nothing takes submissions right now: no open weekly challenge or task."
            )
        kind, ref, title = options[0]
        return kind, ref, title, await self._existing(guild_id, kind, ref, user_id)

    async def submit(
        self, guild_id: int, user_id: int, kind: str, ref: str, link: str, notes: str
    ) -> SubmitResult:
        """Create or edit the member's one submission; refused once closed or reviewed."""
        link = check_link(link, label="Link") if (link or "").strip() else ""
        notes = (notes or "").strip()
        if not link and not notes:
            raise DomainError("Give a link (http or https) or a few lines of notes.")
        if len(notes) > NOTES_MAX:
            raise DomainError(f"Your notes are {len(notes)} characters; the limit is {NOTES_MAX}.")
        title = await self._ensure_open(guild_id, kind, ref)
        now = to_db_time(self.clock.now())
        async with self.db.transaction() as conn:
            existing = await conn.fetch_one(
                "SELECT status FROM challenge_submissions"
                " WHERE guild_id = ? AND kind = ? AND ref = ? AND user_id = ?",
                (guild_id, kind, ref, user_id),
            )
            if existing is not None and existing["status"] != "pending":
                raise DomainError(
                    f"Your submission was already {existing['status']}; it can't be changed now."
                )
            await conn.execute(
                "INSERT INTO challenge_submissions AS s (guild_id, kind, ref, user_id, link,"
                " notes, submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (guild_id, kind, ref, user_id)"
                " DO UPDATE SET link = excluded.link, notes = excluded.notes,"
                " updated_at = excluded.updated_at, version = s.version + 1"
                " WHERE s.status = 'pending'",
                (guild_id, kind, ref, user_id, link, notes, now, now),
            )
        submission = await self._existing(guild_id, kind, ref, user_id)
        assert submission is not None
        return SubmitResult(submission, edited=existing is not None, title=title)

    async def _ensure_open(self, guild_id: int, kind: str, ref: str) -> str:
        now = self.clock.now()
        if kind == "weekly":
            weekly = await self.weekly.get(guild_id, int(ref))
            if not weekly.accepts_submissions(now):
                if weekly.status == "cancelled":
                    raise DomainError("That weekly challenge was cancelled.")
                raise DomainError(
                    f"Submissions for '{inline(weekly.title)}' are closed: the deadline has passed."
                )
            return weekly.title
        post = await self.daily.get(guild_id, int(ref))
        if not post.is_open(now):
            raise DomainError("That daily task is closed: the deadline has passed.")
        return post.challenge.title

    async def _existing(
        self, guild_id: int, kind: str, ref: str, user_id: int
    ) -> Submission | None:
        row = await self.db.fetch_one(
            f"SELECT {SUBMISSION_COLUMNS} FROM challenge_submissions"
            " WHERE guild_id = ? AND kind = ? AND ref = ? AND user_id = ?",
            (guild_id, kind, ref, user_id),
        )
        return None if row is None else from_row(Submission, row)

    async def get(self, guild_id: int, submission_id: int) -> Submission:
        row = await self.db.fetch_one(
            f"SELECT {SUBMISSION_COLUMNS} FROM challenge_submissions WHERE id = ? AND guild_id = ?",
            (submission_id, guild_id),
        )
        if row is None:
            raise NotFound("That submission does not exist in this server.")
        return from_row(Submission, row)

    async def queue(
        self, guild_id: int, kind: str, ref: str | None = None, include_reviewed: bool = False
    ) -> list[Submission]:
        """Submissions to review, oldest first (pending ones first when all are included)."""
        statuses = ("pending", "accepted", "rejected") if include_reviewed else ("pending",)
        sql = (
            f"SELECT {SUBMISSION_COLUMNS} FROM challenge_submissions"
            f" WHERE guild_id = ? AND kind = ? AND status IN ({','.join('?' * len(statuses))})"
        )
        params: list[object] = [guild_id, kind, *statuses]
        if ref is not None:
            sql += " AND ref = ?"
            params.append(ref)
        sql += " ORDER BY status != 'pending', submitted_at, id LIMIT 500"
        return [from_row(Submission, r) for r in await self.db.fetch_all(sql, params)]

    async def title_of(self, submission: Submission) -> tuple[str, int | None]:
        """The challenge's title and discussion thread."""
        if submission.kind == "weekly":
            weekly = await self.weekly.get(submission.guild_id, int(submission.ref))
            return weekly.title, weekly.thread_id
        post = await self.daily.get(submission.guild_id, int(submission.ref))
        return post.challenge.title, post.thread_id

    async def review(
        self,
        guild_id: int,
        submission_id: int,
        reviewer_id: int,
        *,
        accept: bool,
        comment: str,
        points: int | None = None,
        version: int | None = None,
    ) -> ReviewOutcome:
        """Accept (with points) or reject (with a reason) a pending submission, once.

        `version` is the version the reviewer saw (the cog always passes it): if the member
        edited the submission since, SubmissionChanged is raised with the new one. A
        submission to a cancelled weekly challenge can't be reviewed (no points for it).
        """
        submission = await self.get(guild_id, submission_id)
        comment = (comment or "").strip()
        if len(comment) > COMMENT_MAX:
            raise DomainError(f"Keep the comment under {COMMENT_MAX} characters.")
        if not accept and not comment:
            raise DomainError("Say briefly why it is rejected, so the member can improve.")
        if submission.user_id == reviewer_id:
            raise DomainError("You cannot review your own submission.")
        if accept:
            points = self._points_for(submission, points)
        title, thread_id = await self.title_of(submission)
        topic = None
        if submission.kind == "daily":
            topic = (await self.daily.get(guild_id, int(submission.ref))).challenge.topic
        now = self.clock.now()
        expected = submission.version if version is None else version
        async with self.db.transaction() as conn:
            if submission.kind == "weekly":
                weekly = await conn.fetch_one(
                    "SELECT status FROM weekly_challenges WHERE id = ? AND guild_id = ?",
                    (int(submission.ref), guild_id),
                )
                if weekly is None or weekly["status"] == "cancelled":
                    raise DomainError(
                        "That weekly challenge was cancelled: its submissions earn no points."
                    )
            changed = await conn.execute(
                "UPDATE challenge_submissions SET status = ?, points = ?, comment = ?,"
                " reviewer_id = ?, reviewed_at = ? WHERE id = ? AND status = 'pending'"
                " AND version = ?",
                (
                    "accepted" if accept else "rejected",
                    points if accept else None,
                    comment or None,
                    reviewer_id,
                    to_db_time(now),
                    submission_id,
                    expected,
                ),
            )
            if changed == 0:
                row = await conn.fetch_one(
                    f"SELECT {SUBMISSION_COLUMNS} FROM challenge_submissions WHERE id = ?",
                    (submission_id,),
                )
                current = from_row(Submission, row)
                if current.status == "pending":
                    raise SubmissionChanged(current)
                raise DomainError(
                    "Someone already reviewed this submission."
                    if submission.status == "pending"
                    else f"This submission was already {submission.status}."
                )
            if accept and points:
                await award(
                    conn,
                    guild_id=guild_id,
                    user_id=submission.user_id,
                    source="task" if submission.kind == "daily" else "weekly",
                    ref=submission.ref,
                    topic=topic,
                    points=points,
                    now=now,
                )
        return ReviewOutcome(await self.get(guild_id, submission_id), title, thread_id)

    def _points_for(self, submission: Submission, points: int | None) -> int:
        if submission.kind == "daily":
            return self.settings.challenge_task_points
        if points is None or not WEEKLY_POINTS_MIN <= points <= WEEKLY_POINTS_MAX:
            raise DomainError(
                f"Points must be a whole number from {WEEKLY_POINTS_MIN} to {WEEKLY_POINTS_MAX}."
            )
        return points
