"""Retrieval quality must not regress: recall@3 over the two labelled sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.qa_eval import (
    HOLDOUT,
    PARAPHRASES,
    QUESTIONS,
    UNANSWERABLE,
    Case,
    evaluate,
    load_cases,
    recall,
)
from bot.services.qa.documents import load_shipped_documents


@pytest.mark.parametrize(("path", "size"), [(QUESTIONS, 40), (PARAPHRASES, 40), (HOLDOUT, 20)])
def test_eval_sets_are_large_and_point_at_real_sections(path: Path, size: int) -> None:
    cases = load_cases(path)
    assert len(cases) >= size
    assert len({case.text.casefold() for case in cases}) == len(cases)
    sections = {(d.slug, s.heading) for d in load_shipped_documents() for s in d.sections}
    for case in cases:
        assert case.accepted <= sections, case.text


async def test_recall_at_3_on_the_knowledge_bases_own_wording_is_at_least_0_9() -> None:
    outcomes = await evaluate(k=3, cases=load_cases(QUESTIONS))
    misses = [o.case.text for o in outcomes if not o.hit]
    assert recall(outcomes) >= 0.9, misses


async def test_recall_at_3_on_paraphrased_questions_is_at_least_0_85() -> None:
    """Members' own wording, without an embeddings model: query understanding carries it."""
    outcomes = await evaluate(k=3, cases=load_cases(PARAPHRASES))
    misses = [o.case.text for o in outcomes if not o.hit]
    assert recall(outcomes) >= 0.85, misses


async def test_query_understanding_is_what_finds_the_paraphrases() -> None:
    """Without the vocabulary, the same ranking finds clearly fewer of them."""
    cases = load_cases(PARAPHRASES)
    plain = recall(await evaluate(k=3, cases=cases, understanding=False))
    understood = recall(await evaluate(k=3, cases=cases))
    assert understood - plain >= 0.1, (plain, understood)


async def test_unanswerable_questions_get_no_passage() -> None:
    cases = [Case(text, frozenset()) for text in UNANSWERABLE]
    outcomes = await evaluate(k=3, cases=cases, answered_only=True)
    assert [o.case.text for o in outcomes if o.found] == []
