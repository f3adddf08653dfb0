"""Retrieval quality must not regress: recall@3 over the labelled questions stays >= 0.9."""

from __future__ import annotations

from bench.qa_eval import evaluate, load_cases, recall
from bot.services.qa.documents import load_shipped_documents


def test_eval_set_is_large_and_points_at_real_sections() -> None:
    cases = load_cases()
    assert len(cases) >= 40
    sections = {(d.slug, s.heading) for d in load_shipped_documents() for s in d.sections}
    for case in cases:
        assert case.accepted <= sections, case.text


async def test_recall_at_3_is_at_least_0_9() -> None:
    outcomes = await evaluate(k=3)
    misses = [o.case.text for o in outcomes if not o.hit]
    assert recall(outcomes) >= 0.9, misses
