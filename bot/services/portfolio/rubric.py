"""The review rubric, archetypes and self-check: content under version control."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.errors import DomainError, StartupError

RUBRIC_PATH = Path(__file__).resolve().parents[3] / "content" / "portfolio" / "rubric.toml"

# The database has one score column per criterion, so these keys are fixed in code.
CRITERIA_KEYS = ("problem", "data", "solution", "deployment", "docs")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
SCORES_PATTERN = re.compile(r"^\s*[1-5](?:(?:\s*[,;/]\s*|\s+)[1-5]){4}\s*$")


@dataclass(frozen=True)
class Archetype:
    key: str
    name: str
    description: str


@dataclass(frozen=True)
class Criterion:
    key: str
    name: str
    short: str
    look_for: str


@dataclass(frozen=True)
class Rubric:
    archetypes: tuple[Archetype, ...]
    criteria: tuple[Criterion, ...]
    checklist_intro: str
    checklist: tuple[str, ...]

    def archetype(self, key: str) -> Archetype:
        for archetype in self.archetypes:
            if archetype.key == key:
                return archetype
        names = ", ".join(a.key for a in self.archetypes)
        raise DomainError(f"'{key[:40]}' is not a project type. Pick one of: {names}.")

    @property
    def archetype_keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.archetypes)

    @property
    def score_order(self) -> str:
        """'problem, data, solution, deployment, docs and demo' for prompts and errors."""
        return ", ".join(c.short.lower() for c in self.criteria)

    def parse_scores(self, text: str) -> dict[str, int]:
        """Five whole scores from 1 to 5 in rubric order, like '4 3 5 2 4'; nothing else."""
        cleaned = (text or "").strip()
        if SCORES_PATTERN.match(cleaned) is None:
            shown = cleaned[:40] or "nothing"
            raise DomainError(
                f"Scores must be five whole numbers from 1 to 5, like 4 3 5 2 4 (you wrote "
                f"'{shown}'). The order is: {self.score_order}."
            )
        values = [int(part) for part in re.findall(r"[1-5]", cleaned)]
        return dict(zip(CRITERIA_KEYS, values, strict=True))

    def summary(self) -> str:
        return (
            f"portfolio: {len(self.archetypes)} project types, {len(self.criteria)} criteria, "
            f"{len(self.checklist)} self-check items"
        )


def load_rubric(path: Path = RUBRIC_PATH) -> Rubric:
    """Read and check the rubric file; any problem is a StartupError naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise StartupError(f"Content file {path} cannot be read ({exc}).") from None
    try:
        return _build(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise StartupError(f"Content file {path} is invalid: {exc}") from None


@cache
def default_rubric() -> Rubric:
    return load_rubric()


def _build(data: dict) -> Rubric:
    archetypes = tuple(
        Archetype(
            key=_key(item["key"]),
            name=_text(item["name"], 80),
            description=_text(item["description"], 200),
        )
        for item in data["archetypes"]
    )
    keys = [a.key for a in archetypes]
    if not 2 <= len(keys) <= 25 or len(set(keys)) != len(keys):
        raise ValueError("archetypes need 2 to 25 entries with distinct keys")
    if "other" not in keys:
        raise ValueError("archetypes must include 'other'")
    criteria = tuple(
        Criterion(
            key=item["key"],
            name=_text(item["name"], 40),
            short=_text(item["short"], 20),
            look_for=_text(item["look_for"], 200),
        )
        for item in data["criteria"]
    )
    if tuple(c.key for c in criteria) != CRITERIA_KEYS:
        raise ValueError(f"criteria must be, in this order: {', '.join(CRITERIA_KEYS)}")
    checklist = data["checklist"]
    items = tuple(_text(item, 200) for item in checklist["items"])
    if not 1 <= len(items) <= 8:
        raise ValueError("the checklist needs 1 to 8 items")
    return Rubric(archetypes, criteria, _text(checklist["intro"], 300), items)


def _key(value: object) -> str:
    if not isinstance(value, str) or KEY_PATTERN.match(value) is None:
        raise ValueError(f"key {value!r} must be lower_snake_case, 2 to 32 characters")
    return value


def _text(value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected non-empty text, got {value!r}")
    if len(value) > limit:
        raise ValueError(f"'{value[:30]}...' is longer than {limit} characters")
    return value.strip()
