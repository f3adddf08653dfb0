"""Retrieval quality of the shipped knowledge base: recall@3 over two labelled sets.

    python -m bench.qa_eval              # from the repository root
    python -m bench.qa_eval --misses     # also list the questions each configuration misses

Sets: bench/qa_eval_questions.toml (questions in the knowledge base's own words),
bench/qa_eval_paraphrases.toml (written the way members ask, labelled afterwards) and
bench/qa_eval_holdout.toml (more paraphrases, first run only after the vocabulary was
written: how well it generalises). Each
question names the document and section that answer it; it counts as found when one of the
top three passages comes from that section (or from one of its `also` sections).

Configurations, each through the bot's own retrieval code:
1. full text only: the question's words, ranked by BM25F (no synonyms, numbers or periods);
2. full text with query understanding (content/qa/vocabulary.toml): what the bot does
   without an embeddings model;
3. hybrid: 2. fused with a real small embeddings model, all-MiniLM-L6-v2 (int8 ONNX),
   served on 127.0.0.1 by bench/minilm_server.py and reached through the `openai` client.
   Needs the `bench` extra and the hash-pinned model (bench/README.md); without them the
   figure is reported as not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.engine import bench_target
from bot.clock import FixedClock
from bot.config import Settings
from bot.db import open_database
from bot.services.qa.kb import KnowledgeBase
from bot.services.qa.vocabulary import Vocabulary, load_vocabulary
from bot.wiring import build_text_search

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "qa_eval_questions.toml"
PARAPHRASES = HERE / "qa_eval_paraphrases.toml"
HOLDOUT = HERE / "qa_eval_holdout.toml"
GUILD = 1
CLOCK = FixedClock(datetime(2026, 3, 2, tzinfo=UTC))
# Questions that must get "I couldn't find this": the similarity bar is set above these.
UNANSWERABLE = (
    "What's the best pizza topping in Naples?",
    "¿Cuánto gana un científico de datos?",
    "机器学习工程师和AI工程师有什么区别？",
    "for i in range(10): print(i)",
    "Wie viel verdient ein Dateningenieur in Berlin?",
    "who won the football world cup in 1998",
    "🤖🚀🔥",
    "what is it?",
)


@dataclass(frozen=True)
class Case:
    text: str
    accepted: frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Outcome:
    case: Case
    found: tuple[tuple[str, str], ...]
    similarity: float | None = None

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


def words_only(vocabulary: Vocabulary) -> Vocabulary:
    """The vocabulary without query understanding: stop words only."""
    return dataclasses.replace(
        vocabulary,
        cardinals={},
        ordinals={},
        last_words=frozenset(),
        phases=(),
        synonyms=(),
    )


async def evaluate(
    k: int = 3,
    cases: list[Case] | None = None,
    *,
    understanding: bool = True,
    embeddings_url: str | None = None,
    model: str = "",
    answered_only: bool = False,
) -> list[Outcome]:
    """Index the shipped documents in a scratch database and search every question.

    With `answered_only`, passages count as found only when the bot would present them
    (the question is covered), as for the unanswerable questions."""
    cases = load_cases() if cases is None else cases
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(bench_target(Path(folder), "eval.db"))
        client = None
        defaults = Settings(_env_file=None)
        try:
            vectors = None
            if embeddings_url is not None:
                from openai import AsyncOpenAI

                from bot.services.qa.vectors import Embedder, VectorSearch

                client = AsyncOpenAI(api_key="bench", base_url=embeddings_url)
                vectors = VectorSearch(
                    db,
                    CLOCK,
                    Embedder(client, model),
                    batch=defaults.qa_embedding_batch,
                    timeout=30.0,
                    min_similarity=defaults.qa_embedding_min_similarity,
                )
            kb = KnowledgeBase(
                db,
                CLOCK,
                build_text_search(db),
                chunk_chars=1200,
                max_documents=100,
                doc_max_bytes=100_000,
                vectors=vectors,
            )
            if not understanding:
                kb.retriever.vocabulary = words_only(load_vocabulary())
            await kb.sync_shipped()
            if vectors is not None:
                kb.index_vectors()
                await vectors.idle()
            outcomes = []
            for case in cases:
                retrieval = await kb.search(GUILD, case.text, k)
                found = tuple((p.slug, p.section) for p in retrieval.passages)
                if answered_only and not retrieval.covers(defaults.qa_min_coverage):
                    found = ()
                similarity = None
                if vectors is not None:
                    versions = await kb.retriever.versions(GUILD)
                    nearest = await vectors.nearest(GUILD, versions, case.text, 1)
                    similarity = nearest.best if nearest else None
                outcomes.append(Outcome(case, found, similarity))
            return outcomes
        finally:
            if client is not None:
                await client.close()
            await db.close()


def recall(outcomes: list[Outcome]) -> float:
    return sum(o.hit for o in outcomes) / len(outcomes) if outcomes else 0.0


async def run(show_misses: bool, embeddings: bool) -> None:
    sets = {
        "questions": load_cases(QUESTIONS),
        "paraphrases": load_cases(PARAPHRASES),
        "held out": load_cases(HOLDOUT),
    }
    rows: list[tuple[str, dict[str, list[Outcome]] | None, str]] = []
    for label, understanding in (("full text only", False), ("+ query understanding", True)):
        results = {
            name: await evaluate(3, cases, understanding=understanding)
            for name, cases in sets.items()
        }
        rows.append((label, results, ""))
    unanswerable = [Case(text, frozenset()) for text in UNANSWERABLE]
    refused = {"full text": await evaluate(3, unanswerable, answered_only=True)}
    hybrid_label = "hybrid (all-MiniLM-L6-v2 int8)"
    if not embeddings:
        rows.append((hybrid_label, None, "not measured (--no-embeddings)"))
    else:
        from bench.minilm_server import MODEL_NAME, MiniLMServer, ModelMissing

        try:
            server = MiniLMServer()
        except ModelMissing as exc:
            rows.append((hybrid_label, None, f"not measured: {exc} (see bench/README.md)"))
        else:
            url = await server.start()
            try:
                results = {
                    name: await evaluate(3, cases, embeddings_url=url, model=MODEL_NAME)
                    for name, cases in sets.items()
                }
                bad = await evaluate(
                    3, unanswerable, embeddings_url=url, model=MODEL_NAME, answered_only=True
                )
            finally:
                await server.close()
            rows.append((hybrid_label, results, ""))
            answered = [o.similarity for r in results.values() for o in r if o.similarity]
            unanswerable = [o.similarity for o in bad if o.similarity is not None]
            print(
                "nearest-passage cosine similarity: labelled questions median "
                f"{statistics.median(answered):.2f}, lowest {min(answered):.2f}; "
                f"unanswerable questions highest {max(unanswerable, default=0):.2f} "
                f"(QA_EMBEDDING_MIN_SIMILARITY must stay above it)"
            )
            refused["hybrid"] = bad

    header = f"{'recall@3':<32}" + "".join(
        f"{name} ({len(cases)})".rjust(20) for name, cases in sets.items()
    )
    print(header)
    for label, results, note in rows:
        if results is None:
            print(f"{label:<32}{note}")
            continue
        print(f"{label:<32}" + "".join(f"{recall(r):>20.3f}" for r in results.values()))
    for label, outcomes in refused.items():
        wrong = [o.case.text for o in outcomes if o.found]
        print(
            f"unanswerable questions given a passage ({label}): {len(wrong)} of "
            f"{len(outcomes)}" + (f": {wrong}" if wrong else "")
        )
    if show_misses:
        for label, results, _ in rows:
            for name, outcomes in (results or {}).items():
                for outcome in outcomes:
                    if not outcome.hit:
                        got = "; ".join(f"{d} › {s}" for d, s in outcome.found) or "nothing"
                        print(f"MISS [{label} / {name}] {outcome.case.text}\n     got {got}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true", help="list the missed questions")
    parser.add_argument(
        "--no-embeddings", action="store_true", help="skip the hybrid configuration"
    )
    args = parser.parse_args()
    asyncio.run(run(args.misses, not args.no_embeddings))


if __name__ == "__main__":
    main()
