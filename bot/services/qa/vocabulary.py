"""The search vocabulary (content/qa/vocabulary.toml): stop words, numbers, roadmap periods
and synonym groups, checked when loaded so a broken file stops the bot at start-up."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bot.errors import StartupError
from bot.services.qa.analysis import stems, words

VOCABULARY_FILE = Path(__file__).resolve().parents[3] / "content" / "qa" / "vocabulary.toml"
DEFAULT_SYNONYM_WEIGHT = 0.8
MAX_PHRASE_WORDS = 6


@dataclass(frozen=True)
class Phase:
    number: int
    first_month: int
    last_month: int
    terms: tuple[str, ...]


@dataclass(frozen=True)
class SynonymGroup:
    terms: tuple[str, ...]  # as written in the file
    keys: tuple[tuple[str, ...], ...]  # the stems of each term, in the same order
    weight: float


@dataclass(frozen=True)
class Vocabulary:
    stopwords: frozenset[str]  # folded words
    cardinals: dict[str, int]
    ordinals: dict[str, int]
    last_words: frozenset[str]
    months: int
    month_words: frozenset[str]  # stems
    quarter_words: frozenset[str]
    phase_words: frozenset[str]
    phases: tuple[Phase, ...]
    synonyms: tuple[SynonymGroup, ...]
    # Each synonym's stems -> its group's index; and the first stems, to skip the rest fast.
    synonym_index: dict[tuple[str, ...], int] = field(init=False, repr=False, compare=False)
    synonym_starts: frozenset[str] = field(init=False, repr=False, compare=False)
    longest_synonym: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {key: n for n, group in enumerate(self.synonyms) for key in group.keys}
        object.__setattr__(self, "synonym_index", index)
        object.__setattr__(self, "synonym_starts", frozenset(key[0] for key in index))
        object.__setattr__(self, "longest_synonym", max(map(len, index), default=1))

    def phases_for(self, first: int, last: int) -> list[Phase]:
        """The phases that overlap months `first` to `last`."""
        return [p for p in self.phases if p.first_month <= last and first <= p.last_month]

    @property
    def quarters(self) -> int:
        return max(1, self.months // 3)


def parse_vocabulary(text: str, where: str = "vocabulary") -> Vocabulary:
    """Parse and check the vocabulary; raise StartupError naming what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StartupError(f"{where}: {exc}") from None
    try:
        return _build(data, where)
    except (KeyError, TypeError, ValueError) as exc:
        raise StartupError(f"{where}: {exc}") from None


@cache
def load_vocabulary(path: Path = VOCABULARY_FILE) -> Vocabulary:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StartupError(f"The search vocabulary {path} can't be read: {exc}") from None
    return parse_vocabulary(text, f"Search vocabulary {path.name}")


def _build(data: dict[str, Any], where: str) -> Vocabulary:
    numbers = data.get("numbers", {})
    roadmap = data["roadmap"]
    months = _int(roadmap["months"], "roadmap.months", 1, 120)
    phases = tuple(_phase(item, months) for item in roadmap.get("phase", []))
    if not phases:
        raise ValueError("roadmap needs at least one [[roadmap.phase]]")
    synonyms = tuple(_group(item, n) for n, item in enumerate(data.get("synonyms", []), 1))
    seen: dict[tuple[str, ...], str] = {}
    for group in synonyms:
        for term, key in zip(group.terms, group.keys, strict=True):
            if key in seen:
                raise ValueError(
                    f'"{term}" and "{seen[key]}" are in two synonym groups: a term may '
                    "belong to one group only (words count as the same when their stems match)"
                )
            seen[key] = term
    return Vocabulary(
        stopwords=frozenset(words(str(data.get("stopwords", "")))),
        cardinals=_numbers(numbers.get("cardinals", {}), "numbers.cardinals"),
        ordinals=_numbers(numbers.get("ordinals", {}), "numbers.ordinals"),
        last_words=frozenset(words(" ".join(numbers.get("last", [])))),
        months=months,
        month_words=_stem_set(roadmap.get("month_words", [])),
        quarter_words=_stem_set(roadmap.get("quarter_words", [])),
        phase_words=_stem_set(roadmap.get("phase_words", [])),
        phases=phases,
        synonyms=synonyms,
    )


def _int(value: Any, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return value


def _numbers(table: dict[str, Any], name: str) -> dict[str, int]:
    result = {}
    for word, value in table.items():
        folded = words(word)
        if len(folded) != 1:
            raise ValueError(f'{name}: "{word}" must be one word')
        result[folded[0]] = _int(value, f"{name}.{word}", 0, 1000)
    return result


def _stem_set(items: list[str]) -> frozenset[str]:
    return frozenset(s for item in items for s in stems(item))


def _phase(item: dict[str, Any], months: int) -> Phase:
    number = _int(item["number"], "roadmap.phase.number", 1, 100)
    first, last = item["months"]
    first = _int(first, f"phase {number} months", 1, months)
    last = _int(last, f"phase {number} months", first, months)
    terms = tuple(str(t) for t in item["terms"])
    if not terms or any(not stems(t) for t in terms):
        raise ValueError(f"phase {number} needs search terms made of words")
    return Phase(number, first, last, terms)


def _group(item: dict[str, Any], number: int) -> SynonymGroup:
    unique: dict[tuple[str, ...], str] = {}  # terms with the same stems count once
    for term in (str(t) for t in item["terms"]):
        key = tuple(stems(term))
        if not key or len(key) > MAX_PHRASE_WORDS:
            raise ValueError(f'synonym "{term}" must have 1 to {MAX_PHRASE_WORDS} words')
        unique.setdefault(key, term)
    if len(unique) < 2:
        raise ValueError(f"synonym group {number} needs at least two different terms")
    keys, terms = tuple(unique), tuple(unique.values())
    weight = item.get("weight", DEFAULT_SYNONYM_WEIGHT)
    if not isinstance(weight, int | float) or not 0 < weight <= 1:
        raise ValueError(f"synonym group {number}: weight must be above 0 and at most 1")
    return SynonymGroup(terms, keys, float(weight))
