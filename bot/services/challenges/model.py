"""The shapes of the challenge capability: challenges, daily posts, submissions, standings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Phase(StrEnum):
    FOUNDATIONS = "foundations"
    ML_CORE = "ml_core"
    DEEP_LEARNING_LLMS = "deep_learning_llms"
    PRODUCTION = "production"


def phase_for_month(month: int) -> Phase:
    """The bank's phase for a month of the 12-month plan: three months a phase."""
    order = list(Phase)
    return order[min(max(month - 1, 0) // 3, len(order) - 1)]


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class Kind(StrEnum):
    QUIZ = "quiz"
    TASK = "task"


PHASE_LABELS = {
    Phase.FOUNDATIONS: "Foundations (months 1-3)",
    Phase.ML_CORE: "Machine learning core (months 4-6)",
    Phase.DEEP_LEARNING_LLMS: "Deep learning and LLMs (months 7-9)",
    Phase.PRODUCTION: "Production (months 10-12)",
}

TOPIC_LABELS = {
    "python": "Python",
    "dsa": "Data structures and algorithms",
    "stats_probability": "Statistics and probability",
    "linear_algebra": "Linear algebra",
    "pandas_numpy": "pandas and NumPy",
    "classical_ml": "Classical ML and evaluation",
    "deep_learning": "Deep learning",
    "transformers": "Transformers",
    "llm_apis": "LLM APIs and prompting",
    "rag": "RAG",
    "agents": "Agents",
    "mlops": "MLOps and deployment",
    "cloud": "Cloud platforms (AWS, GCP, Azure)",
    "computer_vision": "Computer vision",
    "nlp": "NLP",
    "ai_safety": "AI safety and ethics",
}


@dataclass(frozen=True)
class Challenge:
    id: str
    title: str
    prompt: str
    difficulty: Difficulty
    phase: Phase
    topic: str
    tags: tuple[str, ...]
    kind: Kind
    hint: str
    options: tuple[str, ...] = ()
    correct_index: int | None = None
    explanation: str = ""
    custom: bool = False

    @property
    def is_quiz(self) -> bool:
        return self.kind is Kind.QUIZ

    @property
    def correct_option(self) -> str | None:
        return None if self.correct_index is None else self.options[self.correct_index]

    @property
    def display_order(self) -> tuple[int, ...]:
        """Option indices in the order shown: a fixed shuffle per challenge, so the right
        answer is not always first whatever order the author wrote."""
        return tuple(
            sorted(
                range(len(self.options)),
                key=lambda i: hashlib.sha256(f"{self.id}:{i}".encode()).hexdigest(),
            )
        )

    def to_payload(self) -> dict[str, object]:
        """The challenge in the import format (correct given as a 1-based index)."""
        data: dict[str, object] = {
            "id": self.id,
            "title": self.title,
            "prompt": self.prompt,
            "difficulty": self.difficulty.value,
            "phase": self.phase.value,
            "topic": self.topic,
            "tags": list(self.tags),
            "kind": self.kind.value,
            "hint": self.hint,
        }
        if self.is_quiz:
            data["options"] = list(self.options)
            data["correct"] = (self.correct_index or 0) + 1
            data["explanation"] = self.explanation
        return data


@dataclass(frozen=True)
class BankEntry:
    challenge: Challenge
    disabled: bool


@dataclass(frozen=True)
class DailyPost:
    id: int
    guild_id: int
    day: str
    challenge: Challenge
    cycle: int
    channel_id: int | None
    message_id: int | None
    thread_id: int | None
    answered: int
    correct: int
    posted_at: datetime | None
    closes_at: datetime | None

    def is_open(self, now: datetime) -> bool:
        return self.closes_at is not None and now < self.closes_at


@dataclass(frozen=True)
class DueDaily:
    guild_id: int
    channel_id: int
    day: str


@dataclass(frozen=True)
class AnswerResult:
    correct: bool
    points: int
    chosen: str
    right_answer: str
    explanation: str
    answered: int
    correct_count: int


@dataclass(frozen=True)
class PracticeResult:
    correct: bool
    chosen: str
    right_answer: str
    explanation: str


@dataclass(frozen=True)
class Submission:
    id: int
    guild_id: int
    kind: str
    ref: str
    user_id: int
    link: str
    notes: str
    status: str
    points: int | None
    comment: str | None
    reviewer_id: int | None
    submitted_at: datetime
    updated_at: datetime
    version: int = 1  # bumped by every edit; a review names the version it judged


@dataclass(frozen=True)
class SubmitResult:
    submission: Submission
    edited: bool
    title: str


@dataclass(frozen=True)
class ReviewOutcome:
    submission: Submission
    title: str
    thread_id: int | None


@dataclass(frozen=True)
class Weekly:
    id: int
    guild_id: int
    title: str
    brief: str
    rules: str
    starts_at: datetime
    deadline: datetime
    status: str
    channel_id: int | None
    message_id: int | None
    thread_id: int | None
    created_by: int
    results_posted: bool

    def accepts_submissions(self, now: datetime) -> bool:
        return self.status == "open" and self.starts_at <= now < self.deadline


@dataclass(frozen=True)
class WeeklyStart:
    """A weekly challenge whose start has come: as it shows once posted, and where it goes."""

    weekly: Weekly
    channel_id: int


@dataclass(frozen=True)
class Standing:
    rank: int
    user_id: int
    points: int


@dataclass(frozen=True)
class WeeklyResults:
    weekly: Weekly
    accepted: tuple[Standing, ...]
    submissions: int


@dataclass(frozen=True)
class MemberStats:
    user_id: int
    total: int
    week: int
    month: int
    streak: int
    solved_by_topic: tuple[tuple[str, int], ...]
    daily_answered: int
    daily_correct: int


@dataclass(frozen=True)
class Override:
    id: int
    submission_id: int
    user_id: int
    old_points: int
    new_points: int
    moderator_id: int
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class MonthTop:
    guild_id: int
    channel_id: int
    month: str
    standings: tuple[Standing, ...]
