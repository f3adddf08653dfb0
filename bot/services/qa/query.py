"""Query understanding without a model: a question becomes the concepts to search for.

Each concept is one thing the member asked about, with the words and phrases that express
it in the knowledge base: the member's own word, its synonyms from the vocabulary, or, for a
period of the roadmap ("my first three months", "Q2", "the last phase"), the terms of the
phases it covers. Stop words drop out; number words become digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.services.qa.analysis import stem, words
from bot.services.qa.vocabulary import SynonymGroup, Vocabulary, load_vocabulary

MAX_CONCEPTS = 24
MAX_WORDS = 1000  # a 4,000-character question has fewer; the rest would be cut anyway
PERIOD_WEIGHT = 1.5  # a named period is the most specific thing a question can say
RANGE_WORDS = frozenset({"to", "through", "thru", "till", "until", "and", "or"})
QUARTER_TOKEN = re.compile(r"^q(\d)$")


@dataclass(frozen=True)
class Alternative:
    """One way to say a concept: `key` holds its stems, `text` its folded words."""

    key: tuple[str, ...]
    text: str
    weight: float


@dataclass(frozen=True)
class Concept:
    label: str
    alternatives: tuple[Alternative, ...]
    weight: float = 1.0


@dataclass(frozen=True)
class Query:
    concepts: tuple[Concept, ...]

    @property
    def empty(self) -> bool:
        return not self.concepts

    def texts(self) -> list[str]:
        """Every alternative's text, once each, in concept order."""
        return list(dict.fromkeys(a.text for c in self.concepts for a in c.alternatives))

    def keys(self) -> set[tuple[str, ...]]:
        return {a.key for c in self.concepts for a in c.alternatives}


@dataclass
class _Token:
    word: str
    stem: str
    number: int | None
    ordinal: bool
    used: bool = False


def understand(question: str, vocabulary: Vocabulary | None = None) -> Query:
    """The concepts of `question`, at most MAX_CONCEPTS, in the order they were asked."""
    vocabulary = vocabulary or load_vocabulary()
    tokens = [_token(w, vocabulary) for w in words(question)[:MAX_WORDS]]
    concepts: list[Concept] = []
    concepts.extend(_periods(tokens, vocabulary))
    concepts.extend(_synonyms_and_words(tokens, vocabulary))
    unique: dict[tuple[str, ...], Concept] = {}
    for concept in concepts:
        identity = tuple(sorted(a.text for a in concept.alternatives))
        unique.setdefault(identity, concept)
    return Query(tuple(unique.values())[:MAX_CONCEPTS])


def query_terms(text: str, limit: int = MAX_CONCEPTS) -> list[str]:
    """Distinct content words of `text` (stop words dropped unless nothing else is left)."""
    stopwords = load_vocabulary().stopwords
    found = words(text)
    content = [w for w in found if w not in stopwords and (len(w) > 1 or w.isdigit())]
    return list(dict.fromkeys(content or found))[:limit]


def _token(word: str, vocabulary: Vocabulary) -> _Token:
    if word.isdigit() and len(word) <= 4:
        return _Token(word, word, int(word), False)
    if word in vocabulary.cardinals:
        return _Token(word, stem(word), vocabulary.cardinals[word], False)
    if word in vocabulary.ordinals:
        return _Token(word, stem(word), vocabulary.ordinals[word], True)
    return _Token(word, stem(word), None, False)


# --- Periods of the roadmap -------------------------------------------------------------


def _periods(tokens: list[_Token], vocabulary: Vocabulary) -> list[Concept]:
    """Month ranges, quarters and phases named in the question, as phase concepts."""
    found: list[Concept] = []
    for index, token in enumerate(tokens):
        if token.used or not _may_start_period(token, vocabulary):
            continue
        match = _period_at(tokens, index, vocabulary)
        if match is None:
            continue
        (first, last), width = match
        phases = vocabulary.phases_for(first, last)
        if not phases:
            continue
        for token in tokens[index : index + width]:
            token.used = True
        alternatives = tuple(
            Alternative(tuple(stem(w) for w in words(term)), " ".join(words(term)), 1.0)
            for phase in phases
            for term in phase.terms
        )
        label = " ".join(t.word for t in tokens[index : index + width])
        found.append(Concept(label, alternatives, PERIOD_WEIGHT))
    return found


def _may_start_period(token: _Token, vocabulary: Vocabulary) -> bool:
    return (
        token.ordinal
        or token.word in vocabulary.last_words
        or token.stem in vocabulary.month_words
        or token.stem in vocabulary.phase_words
        or QUARTER_TOKEN.match(token.word) is not None
    )


def _period_at(
    tokens: list[_Token], i: int, vocabulary: Vocabulary
) -> tuple[tuple[int, int], int] | None:
    """((first month, last month), tokens used) for a period starting at token `i`."""
    months = vocabulary.months
    quarters = vocabulary.quarters
    phases = len(vocabulary.phases)

    def at(k: int) -> _Token | None:
        return tokens[k] if k < len(tokens) and not tokens[k].used else None

    first = at(i)
    second = at(i + 1)
    third = at(i + 2)
    assert first is not None
    is_last = first.word in vocabulary.last_words
    is_first = first.ordinal and first.number == 1

    # "first three months", "last 3 months"
    if (
        (is_first or is_last)
        and second
        and third
        and third.stem in vocabulary.month_words
        and 0 < (second.number or 0) <= months
    ):
        span = second.number or 0
        return ((1, span) if is_first else (months - span + 1, months)), 3
    # "months 4 to 6", "months 4-6", "month 8"
    if first.stem in vocabulary.month_words and second and second.number is not None:
        start = second.number
        fourth = at(i + 3)
        if third and third.word in RANGE_WORDS and fourth and fourth.number is not None:
            end, width = fourth.number, 4
        elif third and third.number is not None:
            end, width = third.number, 3
        else:
            end, width = start, 2
        if 1 <= start <= end <= months:
            return (start, end), width
    # "eighth month", "8th month", "last month of the roadmap"
    if (first.ordinal or is_last) and second and second.stem in vocabulary.month_words:
        month = months if is_last else first.number or 0
        if 1 <= month <= months:
            return (month, month), 2
    # "second quarter", "last quarter", "Q3"
    if (first.ordinal or is_last) and second and second.stem in vocabulary.quarter_words:
        quarter = quarters if is_last else first.number or 0
        if 1 <= quarter <= quarters:
            return (quarter * 3 - 2, quarter * 3), 2
    quarter_match = QUARTER_TOKEN.match(first.word)
    if quarter_match and 1 <= int(quarter_match.group(1)) <= quarters:
        quarter = int(quarter_match.group(1))
        return (quarter * 3 - 2, quarter * 3), 1
    # "last phase", "2nd phase", "phase two", "phase 3"
    if (first.ordinal or is_last) and second and second.stem in vocabulary.phase_words:
        number = phases if is_last else first.number or 0
        return _phase_months(vocabulary, number, 2)
    if first.stem in vocabulary.phase_words and second and second.number is not None:
        return _phase_months(vocabulary, second.number, 2)
    return None


def _phase_months(
    vocabulary: Vocabulary, number: int, width: int
) -> tuple[tuple[int, int], int] | None:
    for phase in vocabulary.phases:
        if phase.number == number:
            return (phase.first_month, phase.last_month), width
    return None


# --- Synonyms and plain words -----------------------------------------------------------


def _synonyms_and_words(tokens: list[_Token], vocabulary: Vocabulary) -> list[Concept]:
    concepts: list[Concept] = []
    position = 0
    while position < len(tokens) and len(concepts) < MAX_CONCEPTS:
        token = tokens[position]
        if token.used:
            position += 1
            continue
        width, group = _synonym_at(tokens, position, vocabulary)
        if group is not None:
            window = tokens[position : position + width]
            key = tuple(t.stem for t in window)
            alternatives = tuple(
                Alternative(k, " ".join(words(term)), 1.0 if k == key else group.weight)
                for term, k in zip(group.terms, group.keys, strict=True)
            )
            concepts.append(Concept(" ".join(t.word for t in window), alternatives))
            position += width
            continue
        position += 1
        if _is_content(token, vocabulary):
            alternative = Alternative((token.stem,), token.word, 1.0)
            concepts.append(Concept(token.word, (alternative,)))
    return concepts


def _synonym_at(
    tokens: list[_Token], position: int, vocabulary: Vocabulary
) -> tuple[int, SynonymGroup | None]:
    """The longest synonym starting at `position`: (its width, its group)."""
    if tokens[position].stem not in vocabulary.synonym_starts:
        return 1, None
    longest = min(vocabulary.longest_synonym, len(tokens) - position)
    for width in range(longest, 0, -1):
        window = tokens[position : position + width]
        if any(t.used for t in window):
            continue
        number = vocabulary.synonym_index.get(tuple(t.stem for t in window))
        if number is not None:
            return width, vocabulary.synonyms[number]
    return 1, None


def _is_content(token: _Token, vocabulary: Vocabulary) -> bool:
    if token.word in vocabulary.stopwords:
        return False
    if token.word.isdigit():  # a year or an amount says something; a lone small number not
        return len(token.word) > 2
    return len(token.word) > 1
