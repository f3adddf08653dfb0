"""What members type into the forms, cleaned and checked before anything is stored.

The lengths keep every post inside Discord's limits (a thread name holds 100 characters,
an embed field 1,024), so they are fixed here rather than settings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.discord_limits import THREAD_NAME
from bot.errors import DomainError
from bot.services.links import check_link
from bot.services.portfolio.rubric import Rubric

TITLE_MIN, TITLE_MAX = 3, THREAD_NAME
DESCRIPTION_MIN, DESCRIPTION_MAX = 20, 1000
FEEDBACK_MAX = 500
CHANGE_NOTE_MIN, CHANGE_NOTE_MAX = 10, 500
STRENGTHS_MIN, STRENGTHS_MAX = 20, 1000
IMPROVEMENTS_MIN, IMPROVEMENTS_MAX = 20, 1000
COMMENT_MAX = 300

SELF_CHECKS = ("complete", "skipped")
BLANK_LINES = re.compile(r"\n{3,}")
SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class RequestDraft:
    """A first round: everything the member entered, checked."""

    archetype: str
    title: str
    repo_url: str
    demo_url: str | None
    description: str
    feedback_wanted: str
    self_check: str


@dataclass(frozen=True)
class ResubmitDraft:
    """A later round: the project keeps its title and type; the rest may change."""

    repo_url: str
    demo_url: str | None
    description: str
    change_note: str
    feedback_wanted: str
    self_check: str


@dataclass(frozen=True)
class ReviewDraft:
    scores: dict[str, int]
    strengths: str
    improvements: str


class Problems:
    """Collects every problem of a form, so the member fixes them in one go."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def check(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one check; a refusal is noted and None stands in until `raise_if_any`."""
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            self.items.append(exc.message)
            return None

    def raise_if_any(self) -> None:
        if len(self.items) == 1:
            raise DomainError(self.items[0])
        if self.items:
            raise DomainError("Please fix these:\n" + "\n".join(f"- {p}" for p in self.items))


def clean_text(
    value: str | None,
    *,
    label: str,
    max_chars: int,
    min_chars: int = 0,
    single_line: bool = False,
) -> str:
    """Drop control characters and runs of blank lines; refuse too short or too long text.

    Mentions are kept as typed: they are only ever shown inside embeds or with mentions
    switched off, so they never ping.
    """
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    if single_line:
        text = SPACES.sub(" ", text.replace("\n", " ").replace("\t", " "))
    text = BLANK_LINES.sub("\n\n", text).strip()
    if min_chars and len(text) < min_chars:
        if not text:
            raise DomainError(f"{label}: this can't be empty.")
        raise DomainError(f"{label}: write at least {min_chars} characters.")
    if len(text) > max_chars:
        raise DomainError(f"{label}: {len(text):,} characters is too long; {max_chars:,} at most.")
    return text


def optional_link(value: str | None, *, label: str) -> str | None:
    return check_link(value, label=label) if value and value.strip() else None


def _self_check(value: str) -> str:
    if value not in SELF_CHECKS:
        raise DomainError("Unknown self-check answer.")
    return value


def request_draft(
    rubric: Rubric,
    *,
    archetype: str,
    title: str,
    repo_url: str,
    demo_url: str | None,
    description: str,
    feedback_wanted: str,
    self_check: str,
) -> RequestDraft:
    problems = Problems()
    archetype = problems.check(lambda: rubric.archetype(archetype).key)
    title = problems.check(
        clean_text,
        title,
        label="Title",
        min_chars=TITLE_MIN,
        max_chars=TITLE_MAX,
        single_line=True,
    )
    repo = problems.check(check_link, repo_url, label="Repository link")
    demo = problems.check(optional_link, demo_url, label="Demo link")
    description = problems.check(
        clean_text,
        description,
        label="What it does",
        min_chars=DESCRIPTION_MIN,
        max_chars=DESCRIPTION_MAX,
    )
    feedback = problems.check(
        clean_text, feedback_wanted, label="Feedback wanted", min_chars=3, max_chars=FEEDBACK_MAX
    )
    check = problems.check(_self_check, self_check)
    problems.raise_if_any()
    return RequestDraft(archetype, title, repo, demo, description, feedback, check)


def resubmit_draft(
    *,
    repo_url: str,
    demo_url: str | None,
    description: str,
    change_note: str,
    feedback_wanted: str,
    self_check: str,
) -> ResubmitDraft:
    problems = Problems()
    repo = problems.check(check_link, repo_url, label="Repository link")
    demo = problems.check(optional_link, demo_url, label="Demo link")
    description = problems.check(
        clean_text,
        description,
        label="What it does",
        min_chars=DESCRIPTION_MIN,
        max_chars=DESCRIPTION_MAX,
    )
    note = problems.check(
        clean_text,
        change_note,
        label="What changed",
        min_chars=CHANGE_NOTE_MIN,
        max_chars=CHANGE_NOTE_MAX,
    )
    feedback = problems.check(
        clean_text, feedback_wanted, label="Feedback wanted", min_chars=3, max_chars=FEEDBACK_MAX
    )
    check = problems.check(_self_check, self_check)
    problems.raise_if_any()
    return ResubmitDraft(repo, demo, description, note, feedback, check)


def review_draft(rubric: Rubric, *, scores: str, strengths: str, improvements: str) -> ReviewDraft:
    problems = Problems()
    parsed = problems.check(rubric.parse_scores, scores)
    strengths = problems.check(
        clean_text,
        strengths,
        label="Strengths",
        min_chars=STRENGTHS_MIN,
        max_chars=STRENGTHS_MAX,
    )
    improvements = problems.check(
        clean_text,
        improvements,
        label="What to improve",
        min_chars=IMPROVEMENTS_MIN,
        max_chars=IMPROVEMENTS_MAX,
    )
    problems.raise_if_any()
    return ReviewDraft(parsed, strengths, improvements)


def parse_helpful(text: str) -> int:
    """A helpfulness rating: one whole number from 1 to 5."""
    cleaned = (text or "").strip()
    if cleaned not in ("1", "2", "3", "4", "5"):
        raise DomainError(
            f"Helpful: give one whole number from 1 (not helpful) to 5 (very helpful), "
            f"not '{cleaned[:20]}'."
        )
    return int(cleaned)


def rating_comment(text: str | None) -> str | None:
    cleaned = clean_text(text, label="Comment", max_chars=COMMENT_MAX)
    return cleaned or None
