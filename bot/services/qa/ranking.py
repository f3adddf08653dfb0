"""Ranking the candidates a full-text engine found, the same way on every engine.

The score is BM25F over three fields (document title, section heading, text), with the
title fields weighing more than the text, computed per concept: a concept counts once,
through the best of its alternatives, so a question that names a synonym group is not
scored twice for it. Statistics (passage count, document frequencies, average lengths)
are those of the asking server's scope only: the shipped documents plus its own.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.services.qa.analysis import stems
from bot.services.qa.query import Alternative, Query

K1 = 1.2
# field: (weight, length normalisation b)
FIELDS = {"title": (2.0, 0.5), "section": (3.0, 0.5), "body": (1.0, 0.75)}
RRF_K = 60
# Analysed fields kept in memory (a few kilobytes each): passages asked about often, and
# the document titles every passage of a document shares, are analysed once.
FIELD_CACHE_SIZE = 2048


@dataclass(frozen=True)
class Candidate:
    """A passage the engine found, with the text the ranking reads."""

    chunk_id: int
    slug: str
    title: str
    section: str
    body: str
    source: str


@dataclass(frozen=True)
class ScopeStats:
    """Passages a server can search, and their average field lengths in characters."""

    chunks: int
    title_chars: float
    section_chars: float
    body_chars: float

    def average(self, field: str) -> float:
        return max(1.0, getattr(self, f"{field}_chars"))


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    score: float
    matched: frozenset[int]  # indexes of the query's concepts found in the passage


def idf(df: int, chunks: int) -> float:
    return math.log(1 + (chunks - df + 0.5) / (df + 0.5))


class FieldCounts:
    """Stem counts of one field, with phrase lookups."""

    __slots__ = ("counts", "length", "stems")

    def __init__(self, text: str) -> None:
        self.stems = tuple(stems(text))
        self.counts = Counter(self.stems)
        self.length = len(text)

    def count(self, key: tuple[str, ...]) -> int:
        if len(key) == 1:
            return self.counts.get(key[0], 0)
        if any(part not in self.counts for part in key):
            return 0
        width = len(key)
        found = 0
        for position, value in enumerate(self.stems):
            if value == key[0] and self.stems[position : position + width] == key:
                found += 1
        return found


@lru_cache(maxsize=FIELD_CACHE_SIZE)
def field_counts(text: str) -> FieldCounts:
    return FieldCounts(text)


def score_candidates(
    query: Query,
    candidates: Sequence[Candidate],
    frequencies: dict[str, int],
    stats: ScopeStats,
    *,
    keep_all: bool = False,
) -> list[Scored]:
    """The candidates that match at least one concept (`keep_all`: every one), best first."""
    chunks = max(stats.chunks, 1)
    # first stem of each alternative -> (concept number, alternative, its IDF)
    by_stem: dict[str, list[tuple[int, Alternative, float]]] = {}
    for number, concept in enumerate(query.concepts):
        for alternative in concept.alternatives:
            weight = idf(frequencies.get(alternative.text, 0), chunks)
            by_stem.setdefault(alternative.key[0], []).append((number, alternative, weight))
    wanted = by_stem.keys()
    averages = [stats.average(name) for name in FIELDS]
    scored = []
    for candidate in candidates:
        fields = (
            field_counts(candidate.title),
            field_counts(candidate.section),
            field_counts(candidate.body),
        )
        best: dict[int, float] = {}
        present = fields[0].counts.keys() | fields[1].counts.keys() | fields[2].counts.keys()
        for stem in present & wanted:
            for number, alternative, weight in by_stem[stem]:
                value = _alternative_score(alternative.key, fields, averages)
                if value > 0:
                    value *= alternative.weight * weight
                    if value > best.get(number, 0.0):
                        best[number] = value
        if best or keep_all:
            total = sum(query.concepts[n].weight * value for n, value in best.items())
            scored.append(Scored(candidate, total, frozenset(best)))
    scored.sort(key=lambda s: (-s.score, s.candidate.chunk_id))
    return scored


def _alternative_score(
    key: tuple[str, ...], fields: tuple[FieldCounts, ...], averages: list[float]
) -> float:
    """BM25F's saturated term frequency of one alternative (before its IDF and weight)."""
    pseudo = 0.0
    for counts, (weight, b), average in zip(fields, FIELDS.values(), averages, strict=True):
        tf = counts.count(key)
        if tf:
            pseudo += weight * tf / (1 - b + b * counts.length / average)
    return pseudo / (K1 + pseudo)


def coverage(
    query: Query, shown: Sequence[frozenset[int]], frequencies: dict[str, int], chunks: int
) -> float:
    """Share of the question the shown passages cover, each concept weighted by how
    specific it is (its rarest alternative's IDF; a concept the knowledge base never
    mentions weighs the most)."""
    if not query.concepts:
        return 0.0
    found = set().union(*shown) if shown else set()
    total = covered = 0.0
    for number, concept in enumerate(query.concepts):
        known = [f for a in concept.alternatives if (f := frequencies.get(a.text, 0))]
        weight = concept.weight * idf(min(known) if known else 0, max(chunks, 1))
        total += weight
        if number in found:
            covered += weight
    return covered / total if total else 0.0


def fuse(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several rankings of chunk ids: (id, score), best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
