"""Retrieval quality of the shipped knowledge base: recall@3 over a labelled question set.

    python -m bench.qa_eval            # from the repository root

Each question in bench/qa_eval_questions.toml names the document and section that answer it.
A question counts as found when one of the top three passages comes from that section
(or from one of its `also` sections).
"""

from __future__ import annotations

import asyncio
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FixedClock
from bot.db import open_database
from bot.services.qa.kb import KnowledgeBase

QUESTIONS = Path(__file__).resolve().parent / "qa_eval_questions.toml"
GUILD = 1


@dataclass(frozen=True)
class Case:
    text: str
    accepted: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Outcome:
    case: Case
    found: tuple[tuple[str, str], ...]

    @property
    def hit(self) -> bool:
        return any(place in self.case.accepted for place in self.found)


def load_cases(path: Path = QUESTIONS) -> list[Case]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    cases = []
    for item in data["question"]:
        accepted = {(item["doc"], item["section"])}
        accepted |= {(doc, section) for doc, section in item.get("also", [])}
        cases.append(Case(item["text"], frozenset(accepted)))
    return cases


async def evaluate(k: int = 3, cases: list[Case] | None = None) -> list[Outcome]:
    """Index the shipped documents in a scratch database and search every question."""
    cases = load_cases() if cases is None else cases
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "eval.db")
        try:
            kb = KnowledgeBase(
                db,
                FixedClock(datetime(2026, 3, 2, tzinfo=UTC)),
                chunk_chars=1200,
                max_documents=100,
                doc_max_bytes=100_000,
            )
            await kb.sync_shipped()
            outcomes = []
            for case in cases:
                retrieval = await kb.search(GUILD, case.text, k)
                found = tuple((p.slug, p.section) for p in retrieval.passages)
                outcomes.append(Outcome(case, found))
            return outcomes
        finally:
            await db.close()


def recall(outcomes: list[Outcome]) -> float:
    return sum(o.hit for o in outcomes) / len(outcomes) if outcomes else 0.0


def main() -> None:
    outcomes = asyncio.run(evaluate())
    for outcome in outcomes:
        if not outcome.hit:
            wanted = ", ".join(f"{d} › {s}" for d, s in sorted(outcome.case.accepted))
            got = "; ".join(f"{d} › {s}" for d, s in outcome.found) or "nothing"
            print(f"MISS  {outcome.case.text}\n      wanted {wanted}\n      got    {got}")
    hits = sum(o.hit for o in outcomes)
    print(f"recall@3: {recall(outcomes):.3f} ({hits}/{len(outcomes)} questions)")


if __name__ == "__main__":
    main()
