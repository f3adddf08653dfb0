"""The plain data the Q&A service hands to its cog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.services.contracts import OpenChallenge
from bot.services.qa.retrieval import Passage


class AnswerMode(StrEnum):
    LLM = "llm"  # the model answers from the passages
    EXCERPTS = "excerpts"  # no model: the passages themselves, quoted and cited
    CACHED = "cached"  # the same question was answered today: no tokens spent
    HINT = "hint"  # the question is about an open challenge: hints only


@dataclass(frozen=True)
class Citation:
    number: int
    title: str
    section: str
    slug: str


@dataclass(frozen=True)
class Ticket:
    """A question accepted by the limits and recorded, waiting for its answer."""

    question_id: int
    guild_id: int
    user_id: int
    channel_id: int
    question: str


@dataclass(frozen=True)
class Plan:
    """How a question will be answered. `streams` plans go to the model; others are ready."""

    ticket: Ticket
    mode: AnswerMode
    streams: bool
    passages: tuple[Passage, ...]
    covered: bool
    text: str
    citations: tuple[Citation, ...]
    messages: tuple[dict[str, str], ...]
    hint_for: OpenChallenge | None
    personalized: bool
    cache_key: str | None
    thread_id: int | None
    notes: tuple[str, ...]


@dataclass(frozen=True)
class Answer:
    question_id: int
    text: str
    citations: tuple[Citation, ...]
    mode: AnswerMode
    stopped: bool
    notes: tuple[str, ...]
    tokens: int
    quota_exhausted: bool = False


@dataclass(frozen=True)
class QuestionRecord:
    id: int
    guild_id: int
    user_id: int
    channel_id: int
    thread_id: int | None
    question: str
    status: str
    mode: str | None
    answer: str | None
    created_at: datetime


@dataclass(frozen=True)
class VoteTally:
    up: int
    down: int
    changed: bool


@dataclass(frozen=True)
class Escalation:
    question_id: int
    guild_id: int
    user_id: int
    question: str
    answer: str | None
    channel_id: int


@dataclass(frozen=True)
class Budget:
    """One daily token budget: what is in force, and why.

    `ceiling` is the operator's setting (0: no limit), which no server can lift; `chosen`
    is this server's own lower figure, if it set one.
    """

    in_force: int  # 0: no limit
    ceiling: int
    chosen: int | None

    @property
    def overridden(self) -> bool:
        return self.chosen is not None and self.in_force == self.chosen

    @property
    def capped(self) -> bool:
        """The server chose more than the operator allows now: the ceiling applies."""
        return self.chosen is not None and self.in_force != self.chosen


@dataclass(frozen=True)
class Limits:
    rate_count: int
    rate_window_minutes: int
    member: Budget
    guild: Budget

    @property
    def member_daily_tokens(self) -> int:
        return self.member.in_force

    @property
    def guild_daily_tokens(self) -> int:
        return self.guild.in_force

    @property
    def member_overridden(self) -> bool:
        return self.member.overridden

    @property
    def guild_overridden(self) -> bool:
        return self.guild.overridden


@dataclass(frozen=True)
class UsageDay:
    day: date
    questions: int
    tokens: int
    cost: float


@dataclass(frozen=True)
class UsageReport:
    days: tuple[UsageDay, ...]
    questions: int
    tokens: int
    cost: float
    cached: int
    failed: int
    up_votes: int
    down_votes: int
    used_today: int
    limits: Limits

    @property
    def feedback_ratio(self) -> float | None:
        votes = self.up_votes + self.down_votes
        return None if votes == 0 else self.up_votes / votes


@dataclass(frozen=True)
class Gap:
    question: str
    asked: int
    weak: int
    down_votes: int
    escalations: int
    last_asked: datetime
