"""The plain data the portfolio service hands out: requests, reviews, queue, statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.db import Row, from_row
from bot.services.portfolio.rubric import CRITERIA_KEYS
from bot.services.scheduled_posts import PostKey


class Status(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    REVIEWED = "reviewed"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


ACTIVE = (Status.OPEN, Status.CLAIMED)


@dataclass(frozen=True)
class Actor:
    """Who is acting, and what the server lets them do (worked out by the caller)."""

    user_id: int
    is_reviewer: bool = False
    is_moderator: bool = False


@dataclass(frozen=True)
class PostLocation:
    channel_id: int
    post_channel_id: int
    message_id: int
    thread_id: int | None


@dataclass(frozen=True)
class Request:
    id: int
    guild_id: int
    owner_id: int
    archetype: str
    title: str
    repo_url: str
    demo_url: str | None
    description: str
    feedback_wanted: str
    self_check: str
    round: int
    root_id: int | None
    previous_id: int | None
    change_note: str | None
    status: Status
    reviewer_id: int | None
    claimed_at: datetime | None
    credit_reviews: int
    queue_at: datetime
    open_since: datetime
    returned_count: int
    created_at: datetime
    closed_at: datetime | None
    channel_id: int | None
    post_channel_id: int | None
    message_id: int | None
    thread_id: int | None
    post_version: int

    @property
    def project_id(self) -> int:
        """The first round's id: every round of one project shares it."""
        return self.root_id or self.id

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def post(self) -> PostLocation | None:
        if self.channel_id is None or self.post_channel_id is None or self.message_id is None:
            return None
        return PostLocation(self.channel_id, self.post_channel_id, self.message_id, self.thread_id)

    @classmethod
    def from_row(cls, row: Row) -> Request:
        return from_row(cls, row)


@dataclass(frozen=True)
class Review:
    id: int
    request_id: int
    guild_id: int
    reviewer_id: int
    scores: dict[str, int]
    strengths: str
    improvements: str
    created_at: datetime
    message_id: int | None
    helpful: int | None
    rating_comment: str | None
    rated_at: datetime | None

    @property
    def average(self) -> float:
        return sum(self.scores.values()) / len(self.scores)

    @classmethod
    def from_row(cls, row: Row) -> Review:
        return from_row(cls, row, scores={key: row[f"score_{key}"] for key in CRITERIA_KEYS})


@dataclass(frozen=True)
class Round:
    request: Request
    review: Review | None


@dataclass(frozen=True)
class History:
    """Every round of one project, oldest first."""

    rounds: tuple[Round, ...]

    @property
    def reviewed(self) -> tuple[Round, ...]:
        return tuple(r for r in self.rounds if r.review is not None)

    def trend(self, criterion: str) -> tuple[int, ...]:
        """The scores one criterion got, round after reviewed round."""
        return tuple(r.review.scores[criterion] for r in self.reviewed if r.review)

    def averages(self) -> tuple[float, ...]:
        return tuple(r.review.average for r in self.reviewed if r.review)


@dataclass(frozen=True)
class Transition:
    """A request after a change, with who held it before (for notices)."""

    request: Request
    previous_reviewer_id: int | None = None
    notices: tuple[PostKey, ...] = ()  # planned with the change: send them (bot/delivery.py)


@dataclass(frozen=True)
class Notice:
    """An announcement of a return or an expiry still to send (`key` says which)."""

    key: PostKey
    request_id: int
    request: Request | None  # None: erased since
    recipient_id: int | None = None  # whom a DM goes to, when the request can't say
    claimed_at: datetime | None = None  # the claim a return or a transfer concerns
    review: Review | None = None


@dataclass(frozen=True)
class ReviewOutcome:
    request: Request
    review: Review
    notices: tuple[PostKey, ...] = ()


@dataclass(frozen=True)
class QueueEntry:
    position: int
    request: Request
    waiting: timedelta
    moved_up: timedelta
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class QueuePage:
    entries: tuple[QueueEntry, ...]
    total: int
    page: int
    pages: int
    archetype: str | None


@dataclass(frozen=True)
class RequestPage:
    requests: tuple[Request, ...]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class ReviewerStats:
    reviewer_id: int
    reviews: int
    ratings: int
    average_helpful: float | None
    last_review_at: datetime


@dataclass(frozen=True)
class PortfolioStats:
    total: int
    by_status: dict[str, int]
    median_to_review: timedelta | None
    reviewers: tuple[ReviewerStats, ...]
    resubmissions: int


@dataclass(frozen=True)
class Reminder:
    """A reviewer to remind about one claimed request (claimed before sending)."""

    request: Request
    reviewer_id: int
