"""/ask through the simulator with an embeddings model: the bot indexes at start-up and
after /kb add, finds passages by meaning, and falls back to full text when the endpoint
fails, counting it in /metrics."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from simulator.harness import SimHarness
from tests.qa.fake_llm import FakeLLM
from tests.qa.sim_support import wait_until


@pytest.fixture
def settings(tmp_path: Path, fake_llm: FakeLLM) -> Settings:
    return Settings(
        _env_file=None,
        database_path=tmp_path / "mentor.db",
        llm_base_url=fake_llm.base_url,
        llm_embedding_model="fake-embed",
        llm_max_retries=0,
        llm_timeout_seconds=3,
        qa_embedding_timeout_seconds=0.5,
        qa_embedding_min_similarity=0.3,
        qa_edit_interval_seconds=0.2,
    )


async def vectors_cover_every_passage(sim: SimHarness) -> bool:
    db = sim.services.db
    chunks = await db.fetch_value("SELECT count(DISTINCT content_hash) FROM qa_chunks")
    vectors = await db.fetch_value("SELECT count(*) FROM qa_vectors")
    return chunks > 0 and vectors == chunks


async def test_passages_found_by_meaning_reach_the_model(
    sim: SimHarness, fake_llm: FakeLLM
) -> None:
    vectors = sim.services.qa.kb.vectors
    assert vectors is not None
    await vectors.idle()
    assert await vectors_cover_every_passage(sim)  # indexed at start-up

    mod, alice = sim.member("mo", moderator=True), sim.member("alice")
    form = await sim.slash(mod, "kb add")
    await sim.submit_modal(
        mod,
        form,
        {
            "Title": "Quokka care",
            "Text (Markdown; ## headings make sections)": (
                "## Feeding\n\nQuokkas eat leaves, grasses and bark at night."
            ),
        },
    )
    await vectors.idle()
    assert await vectors_cover_every_passage(sim)

    fake_llm.aliases.update({"marsupi": "quokka", "munch": "eat"})
    r = await sim.slash(alice, "ask", question="What do marsupials munch?")
    prompt = fake_llm.requests[-1]["messages"][-1]["content"]
    assert "Quokkas eat leaves" in prompt
    assert "Quokka care › Feeding" in r.embeds[0]["description"]


async def test_a_failing_endpoint_still_answers_and_is_counted(
    sim: SimHarness, fake_llm: FakeLLM
) -> None:
    vectors = sim.services.qa.kb.vectors
    assert vectors is not None
    await vectors.idle()
    fake_llm.embedding_error = True
    r = await sim.slash(
        sim.member("alice"), "ask", question="What does a junior data scientist earn?"
    )
    await wait_until(lambda: r.embeds)
    assert "Junior Data Scientist" in r.embeds[0]["description"]
    metrics = sim.services.metrics.render()
    assert b'mentor_qa_embedding_fallbacks_total{reason="error"} 1.0' in metrics
