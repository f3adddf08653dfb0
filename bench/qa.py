"""Q&A performance: retrieval latency over 10,000 chunks, and the bot's own overhead.

    python bench/qa.py                  # from the repository root

1. Retrieval: the shipped documents plus synthetic server documents (10,000 chunks in
   all, half of them another server's) are indexed; every evaluation question is searched
   repeatedly. Target: p99 under 10 ms.
2. Overhead: /ask runs end to end through the simulator against the test LLM server, which
   waits a fixed delay before its first token. The bot's overhead is the time from the
   interaction to the first edit of the answer, minus the time the server took to send
   its first token. Target: under 100 ms.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.qa_eval import load_cases  # noqa: E402
from bot.clock import FixedClock  # noqa: E402
from bot.db import open_database  # noqa: E402
from bot.services.qa.documents import load_shipped_documents  # noqa: E402
from bot.services.qa.kb import KnowledgeBase  # noqa: E402

TARGET_CHUNKS = 10_000
SECTIONS_PER_DOCUMENT = 100
GUILDS = (1, 2)
ROUNDS = 20


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def synthetic_documents(count: int, seed: int = 7) -> list[str]:
    """Markdown documents of realistic sections, made from the shipped vocabulary."""
    rng = random.Random(seed)
    words = [
        w
        for d in load_shipped_documents()
        for s in d.sections
        for w in s.text.replace("\n", " ").split(" ")
        if w.isalpha()
    ]
    documents = []
    for n in range(count):
        sections = []
        for s in range(SECTIONS_PER_DOCUMENT):
            heading = " ".join(rng.choices(words, k=3)).title()
            body = " ".join(rng.choices(words, k=rng.randint(60, 140)))
            sections.append(f"## {heading} {s}\n\n{body}.")
        documents.append(f"# Synthetic notes {n}\n\n" + "\n\n".join(sections))
    return documents


async def retrieval_benchmark() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        db = await open_database(Path(folder) / "bench.db")
        try:
            kb = KnowledgeBase(
                db,
                FixedClock(datetime(2026, 3, 2, tzinfo=UTC)),
                chunk_chars=1200,
                max_documents=1000,
                doc_max_bytes=10_000_000,
            )
            await kb.sync_shipped()
            shipped = await db.fetch_value("SELECT count(*) FROM qa_chunks")
            needed = -(-(TARGET_CHUNKS - shipped) // SECTIONS_PER_DOCUMENT)
            started = time.perf_counter()
            for index, text in enumerate(synthetic_documents(needed)):
                await kb.add_document(GUILDS[index % 2], text, user_id=1)
            indexing = time.perf_counter() - started
            chunks = await db.fetch_value("SELECT count(*) FROM qa_chunks")
            questions = [case.text for case in load_cases()]
            cold = []
            for question in questions:  # term counts not cached yet: the worst case
                kb._df.clear()
                begin = time.perf_counter()
                await kb.search(GUILDS[0], question, 4)
                cold.append((time.perf_counter() - begin) * 1000)
            timings = []
            cpu = []
            for _ in range(ROUNDS):
                for question in questions:
                    begin, begin_cpu = time.perf_counter(), time.process_time()
                    await kb.search(GUILDS[0], question, 4)
                    timings.append((time.perf_counter() - begin) * 1000)
                    cpu.append((time.process_time() - begin_cpu) * 1000)
        finally:
            await db.close()
    return {
        "chunks": chunks,
        "searches": len(timings),
        "indexing_s": indexing,
        "p50_ms": statistics.median(timings),
        "p99_ms": percentile(timings, 0.99),
        "max_ms": max(timings),
        "cpu_p99_ms": percentile(cpu, 0.99),
        "cold_p50_ms": statistics.median(cold),
        "cold_max_ms": max(cold),
    }


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    result = asyncio.run(retrieval_benchmark())
    print(
        f"retrieval over {result['chunks']:,} chunks ({result['searches']} searches): "
        f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
        f"max {result['max_ms']:.2f} ms (target p99 < 10 ms); "
        f"CPU time p99 {result['cpu_p99_ms']:.2f} ms; "
        f"uncached term counts: p50 {result['cold_p50_ms']:.2f} ms, "
        f"max {result['cold_max_ms']:.2f} ms; indexing took {result['indexing_s']:.1f} s"
    )


if __name__ == "__main__":
    main()
