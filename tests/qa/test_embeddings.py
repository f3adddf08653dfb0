"""Semantic retrieval through the real `openai` client against the fake server's
/v1/embeddings: indexing in batches, the hash cache, fusion, fallback and metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import Database
from bot.metrics import Metrics
from bot.services.qa import QAService
from bot.wiring import build_text_search
from tests.qa.conftest import ALICE, GUILD, OTHER_GUILD
from tests.qa.fake_llm import EMBEDDING_DIMENSIONS, FakeLLM

MODEL = "fake-embed"
QUOKKA = "# Quokka care\n\n## Feeding\n\nQuokkas eat leaves, grasses and bark at night."


@pytest.fixture
def embedding_settings(llm_settings: Settings) -> Settings:
    return llm_settings.model_copy(
        update={
            "llm_embedding_model": MODEL,
            "qa_embedding_batch": 10,
            "qa_embedding_timeout_seconds": 0.3,
            "qa_embedding_min_similarity": 0.3,
        }
    )


@pytest.fixture
async def embedding_client(embedding_settings: Settings) -> AsyncIterator[AsyncOpenAI]:
    from bot.wiring import build_llm_client

    client = build_llm_client(embedding_settings)
    assert client is not None
    yield client
    await client.close()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def hybrid(
    embedding_settings: Settings,
    db: Database,
    clock: FixedClock,
    embedding_client: AsyncOpenAI,
    metrics: Metrics,
) -> AsyncIterator[QAService]:
    service = QAService(
        db,
        clock,
        embedding_settings,
        embedding_client,
        search=build_text_search(db),
        metrics=metrics,
    )
    await service.kb.sync_shipped()
    service.kb.index_vectors()
    assert service.kb.vectors is not None
    await service.kb.vectors.idle()
    yield service
    await service.kb.close()


def counted(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_passages_are_embedded_in_batches_and_stored_once(
    embedding_settings: Settings,
    db: Database,
    clock: FixedClock,
    embedding_client: AsyncOpenAI,
    fake_llm: FakeLLM,
    metrics: Metrics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.services.qa.vectors")
    hybrid = QAService(
        db,
        clock,
        embedding_settings,
        embedding_client,
        search=build_text_search(db),
        metrics=metrics,
    )
    await hybrid.kb.sync_shipped()
    assert hybrid.kb.vectors is not None
    await hybrid.kb.vectors.idle()
    chunks = await db.fetch_value("SELECT count(DISTINCT content_hash) FROM qa_chunks")
    stored = await db.fetch_all("SELECT model, dimensions, length(vector) AS bytes FROM qa_vectors")
    assert len(stored) == chunks > 10
    assert {(r["model"], r["dimensions"], r["bytes"]) for r in stored} == {
        (MODEL, EMBEDDING_DIMENSIONS, EMBEDDING_DIMENSIONS * 4)
    }
    sizes = [len(batch) for batch in fake_llm.embedding_requests]
    assert sum(sizes) == chunks and max(sizes) == 10 and len(sizes) == -(-chunks // 10)
    assert counted(metrics, "mentor_qa_embedded_passages_total") == chunks
    assert counted(
        metrics, "mentor_qa_embedding_requests_total", kind="index", outcome="ok"
    ) == len(sizes)
    progress = [r.getMessage() for r in caplog.records if "passages embedded" in r.getMessage()]
    assert progress[0] == f"Embeddings ({MODEL}): 10 of {chunks} passages embedded"
    assert progress[-1] == f"Embeddings ({MODEL}): {chunks} of {chunks} passages embedded"


async def test_a_restart_recomputes_nothing(
    hybrid: QAService,
    fake_llm: FakeLLM,
    embedding_settings: Settings,
    db: Database,
    clock: FixedClock,
    embedding_client: AsyncOpenAI,
) -> None:
    sent = len(fake_llm.embedding_requests)
    again = QAService(db, clock, embedding_settings, embedding_client, search=build_text_search(db))
    await again.kb.sync_shipped()
    again.kb.index_vectors()
    assert again.kb.vectors is not None
    await again.kb.vectors.idle()
    assert len(fake_llm.embedding_requests) == sent


async def test_knowledge_base_changes_embed_only_the_new_text_and_drop_the_old(
    hybrid: QAService, fake_llm: FakeLLM, db: Database
) -> None:
    assert hybrid.kb.vectors is not None
    sent = len(fake_llm.embedding_requests)
    await hybrid.kb.add_document(GUILD, QUOKKA, user_id=ALICE)
    await hybrid.kb.vectors.idle()
    assert fake_llm.embedding_requests[sent:] == [
        ["Quokka care › Feeding\n\nQuokkas eat leaves, grasses and bark at night."]
    ]
    # The same text in another server reuses the vector.
    await hybrid.kb.add_document(OTHER_GUILD, QUOKKA, user_id=ALICE)
    await hybrid.kb.vectors.idle()
    assert len(fake_llm.embedding_requests) == sent + 1
    before = await db.fetch_value("SELECT count(*) FROM qa_vectors")
    await hybrid.kb.remove_document(GUILD, "quokka-care")
    await hybrid.kb.remove_document(OTHER_GUILD, "quokka-care")
    await hybrid.kb.vectors.idle()
    assert await db.fetch_value("SELECT count(*) FROM qa_vectors") == before - 1


async def test_meaning_finds_what_the_words_miss(hybrid: QAService, fake_llm: FakeLLM) -> None:
    """No word of the question is in the passage; the embeddings model knows they mean the
    same (the fake server's aliases stand in for that knowledge)."""
    assert hybrid.kb.vectors is not None
    await hybrid.kb.add_document(GUILD, QUOKKA, user_id=ALICE)
    await hybrid.kb.vectors.idle()
    fake_llm.aliases.update({"marsupi": "quokka", "munch": "eat", "shrub": "leav"})
    question = "marsupials munch shrubs"

    hybrid.kb.retriever.vectors = None  # full text alone
    lexical = await hybrid.kb.search(GUILD, question, 3)
    assert lexical.passages == () and not lexical.covers(0.5)

    hybrid.kb.retriever.vectors = hybrid.kb.vectors
    semantic = await hybrid.kb.search(GUILD, question, 3)
    assert semantic.semantic and semantic.covers(0.5)
    assert semantic.passages[0].slug == "quokka-care"
    elsewhere = await hybrid.kb.search(OTHER_GUILD, question, 3)
    assert "quokka-care" not in [p.slug for p in elsewhere.passages]


async def test_the_model_sees_the_passage_found_by_meaning(
    hybrid: QAService, fake_llm: FakeLLM
) -> None:
    assert hybrid.kb.vectors is not None
    await hybrid.kb.add_document(GUILD, QUOKKA, user_id=ALICE)
    await hybrid.kb.vectors.idle()
    fake_llm.aliases.update({"marsupi": "quokka", "munch": "eat"})
    ticket = await hybrid.reserve(GUILD, ALICE, 1, "What do marsupials munch?")
    plan = await hybrid.prepare(ticket)
    assert plan.streams and plan.passages[0].slug == "quokka-care"
    assert "Quokkas eat leaves" in plan.messages[-1]["content"]


async def test_each_question_is_embedded_once(
    hybrid: QAService, fake_llm: FakeLLM, metrics: Metrics
) -> None:
    sent = len(fake_llm.embedding_requests)
    for text in ("How do I learn PyTorch?", "how do i learn pytorch", "How do I learn PyTorch?"):
        await hybrid.kb.search(GUILD, text, 3)
    assert fake_llm.embedding_requests[sent:] == [["How do I learn PyTorch?"]]
    assert counted(metrics, "mentor_qa_embedding_requests_total", kind="query", outcome="ok") == 1


async def test_a_failing_endpoint_falls_back_to_full_text_and_is_counted(
    hybrid: QAService, fake_llm: FakeLLM, metrics: Metrics, clock: FixedClock
) -> None:
    fake_llm.embedding_error = True
    first = await hybrid.kb.search(GUILD, "What does a junior data scientist earn?", 3)
    assert not first.semantic
    assert first.passages[0].section == "Junior Data Scientist"
    assert counted(metrics, "mentor_qa_embedding_fallbacks_total", reason="error") == 1

    # Right after a failure, questions don't wait on the endpoint.
    sent = len(fake_llm.embedding_requests)
    second = await hybrid.kb.search(GUILD, "What does an AI research assistant do?", 3)
    assert not second.semantic and second.passages
    assert len(fake_llm.embedding_requests) == sent
    assert counted(metrics, "mentor_qa_embedding_fallbacks_total", reason="paused") == 1

    fake_llm.embedding_error = False
    clock.advance(seconds=31)
    third = await hybrid.kb.search(GUILD, "What does an AI research assistant do?", 3)
    assert third.semantic
    assert b'mentor_qa_embedding_fallbacks_total{reason="error"} 1.0' in metrics.render()


async def test_a_slow_endpoint_falls_back_within_the_timeout(
    hybrid: QAService, fake_llm: FakeLLM, metrics: Metrics
) -> None:
    fake_llm.embedding_delay = 1.0
    started = time.perf_counter()
    retrieval = await hybrid.kb.search(GUILD, "Which cloud providers should I learn?", 3)
    elapsed = time.perf_counter() - started
    assert not retrieval.semantic and retrieval.passages[0].section == "Cloud basics"
    assert elapsed < 0.9
    assert counted(metrics, "mentor_qa_embedding_fallbacks_total", reason="timeout") == 1


async def test_indexing_failure_leaves_full_text_working_and_resumes_later(
    embedding_settings: Settings,
    db: Database,
    clock: FixedClock,
    embedding_client: AsyncOpenAI,
    fake_llm: FakeLLM,
) -> None:
    fake_llm.embedding_error = True
    service = QAService(
        db, clock, embedding_settings, embedding_client, search=build_text_search(db)
    )
    await service.kb.sync_shipped()
    assert service.kb.vectors is not None
    await service.kb.vectors.idle()
    assert await db.fetch_value("SELECT count(*) FROM qa_vectors") == 0
    found = await service.kb.search(GUILD, "What does a junior data scientist earn?", 3)
    assert found.passages[0].section == "Junior Data Scientist"

    fake_llm.embedding_error = False
    service.kb.index_vectors()  # as at the next start or knowledge-base change
    await service.kb.vectors.idle()
    assert await db.fetch_value("SELECT count(*) FROM qa_vectors") == await db.fetch_value(
        "SELECT count(DISTINCT content_hash) FROM qa_chunks"
    )
    await service.kb.close()


async def test_no_embeddings_model_means_full_text_only(qa_llm: QAService) -> None:
    assert qa_llm.kb.vectors is None
    retrieval = await qa_llm.kb.search(GUILD, "What does a junior data scientist earn?", 3)
    assert not retrieval.semantic and retrieval.passages


async def test_background_indexing_never_blocks_a_question(
    hybrid: QAService, fake_llm: FakeLLM
) -> None:
    assert hybrid.kb.vectors is not None
    fake_llm.embedding_delay = 0.5
    await hybrid.kb.add_document(GUILD, QUOKKA, user_id=ALICE)
    started = time.perf_counter()
    await asyncio.wait_for(hybrid.kb.search(GUILD, "quokka leaves", 3), timeout=0.45)
    assert time.perf_counter() - started < 0.45
    await hybrid.kb.vectors.idle()


async def test_a_removed_servers_vectors_go_with_its_documents(
    hybrid: QAService, db: Database
) -> None:
    assert hybrid.kb.vectors is not None
    await hybrid.kb.add_document(OTHER_GUILD, QUOKKA, user_id=ALICE)
    await hybrid.kb.vectors.idle()
    shipped = await db.fetch_value("SELECT count(*) FROM qa_vectors")
    await hybrid.delete_guild(OTHER_GUILD)
    await hybrid.kb.vectors.idle()
    assert await db.fetch_value("SELECT count(*) FROM qa_vectors") == shipped - 1
