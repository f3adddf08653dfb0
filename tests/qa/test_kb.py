"""The knowledge base on a real SQLite file: indexing, scoping, safe FTS5 queries."""

from __future__ import annotations

from pathlib import Path

import pytest

import bot.services.qa.retrieval as retrieval_module
from bot.clock import FixedClock
from bot.db import Database
from bot.errors import DomainError, NotFound
from bot.services.qa import QAService
from bot.services.qa.documents import load_shipped_documents
from bot.services.qa.fts import match_expression
from bot.services.qa.kb import KnowledgeBase, decode_upload
from bot.services.qa.query import understand
from bot.wiring import build_text_search
from tests.qa.conftest import ALICE, BOB, GUILD, OTHER_GUILD

HOSTILE = [
    'what is "RAG',
    "fine-tuning vs. prompt-engineering",
    "NEAR(python statistics, 3)",
    "python AND NOT OR statistics",
    "* ^ : ( ) { } [ ] - + ~ ' \" \\",
    "title:roadmap section:phase",
    "python*",
    "\x00 null byte",
    "🤖🚀 emoji only",
    "机器学习是什么？",
    "¿Qué es un ingeniero de IA?",
    "x" * 10_000,
    "a " * 5000,
    "",
    "   ",
    "'; DROP TABLE qa_chunks; --",
]


@pytest.mark.parametrize("text", HOSTILE)
async def test_any_member_text_searches_without_error(qa: QAService, text: str) -> None:
    retrieval = await qa.kb.search(GUILD, text, 3)
    assert len(retrieval.passages) <= 3
    assert await qa.db.fetch_value("SELECT count(*) FROM qa_chunks") > 0


def test_search_terms_are_quoted_words_only() -> None:
    texts = understand('NEAR "fine-tuning" OR what is the *best* col:thing?').texts()
    assert texts == ["near", "fine", "tuning", "best", "col"]
    assert match_expression(texts) == '"near" OR "fine" OR "tuning" OR "best" OR "col"'
    assert understand("what is it?").empty
    assert len(understand(" ".join(f"w{i}" for i in range(100))).concepts) == 24


async def test_relevant_section_ranks_first(qa: QAService) -> None:
    retrieval = await qa.kb.search(GUILD, "salary of a junior data scientist", 3)
    best = retrieval.passages[0]
    assert (best.slug, best.section) == ("entry-level-roles", "Junior Data Scientist")
    assert "$151,000" in best.text
    assert retrieval.covers(0.5)
    assert best.score > 0


async def test_server_documents_are_private_to_their_server(qa: QAService) -> None:
    await qa.kb.add_document(
        GUILD,
        "# Study group\n\n## Meeting times\n\nWe meet on zygomorphic Thursdays.",
        user_id=ALICE,
    )
    mine = await qa.kb.search(GUILD, "zygomorphic", 3)
    theirs = await qa.kb.search(OTHER_GUILD, "zygomorphic", 3)
    assert [p.slug for p in mine.passages] == ["study-group"]
    assert theirs.passages == ()
    assert "study-group" not in [d.slug for d in await qa.kb.list_documents(OTHER_GUILD)]
    with pytest.raises(NotFound):
        await qa.kb.get_document(OTHER_GUILD, "study-group")
    shipped = await qa.kb.search(OTHER_GUILD, "junior data scientist", 1)
    assert shipped.passages[0].source == "shipped"


async def test_re_adding_replaces_chunks(qa: QAService) -> None:
    first = await qa.kb.add_document(
        GUILD, "# Rules\n\n## One\n\nquokka text\n\n## Two\n\nmore quokka", user_id=ALICE
    )
    assert not first.replaced and first.chunks == 2
    second = await qa.kb.add_document(GUILD, "# Rules\n\n## Only\n\nplatypus text", user_id=ALICE)
    assert second.replaced and second.chunks == 1
    assert (await qa.kb.search(GUILD, "quokka", 5)).passages == ()
    assert [p.section for p in (await qa.kb.search(GUILD, "platypus", 5)).passages] == ["Only"]
    rows = await qa.db.fetch_value(
        "SELECT count(*) FROM qa_chunks c JOIN qa_documents d ON d.id = c.document_id "
        "WHERE d.slug = 'rules'"
    )
    assert rows == 1
    search = qa.kb.retriever.engine  # the full-text index forgot it too
    assert await search.document_frequencies(GUILD, ["quokka"]) == {"quokka": 0}


async def test_remove_and_refusals(qa: QAService) -> None:
    await qa.kb.add_document(GUILD, "# Notes\n\n## A\n\nwombat", user_id=ALICE)
    version = await qa.kb.version(GUILD)
    removed = await qa.kb.remove_document(GUILD, "notes")
    assert removed.title == "Notes"
    assert await qa.kb.version(GUILD) != version
    assert (await qa.kb.search(GUILD, "wombat", 3)).passages == ()
    with pytest.raises(NotFound):
        await qa.kb.remove_document(GUILD, "notes")
    with pytest.raises(DomainError, match="Shipped"):
        await qa.kb.remove_document(GUILD, "roadmap")
    with pytest.raises(DomainError, match="shipped document"):
        await qa.kb.add_document(GUILD, "# Roadmap\n\n## Mine\n\ntext", user_id=ALICE)
    with pytest.raises(NotFound):
        await qa.kb.remove_document(OTHER_GUILD, "../roadmap")


async def test_document_limits(qa: QAService) -> None:
    with pytest.raises(DomainError, match="bytes"):
        await qa.kb.add_document(GUILD, "# Big\n\n" + "x" * 200_000, user_id=ALICE)
    with pytest.raises(DomainError, match="empty"):
        await qa.kb.add_document(GUILD, " \n\t ", user_id=ALICE)
    qa.kb.max_documents = 2
    await qa.kb.add_document(GUILD, "text one", user_id=ALICE, title="One")
    await qa.kb.add_document(GUILD, "text two", user_id=ALICE, title="Two")
    with pytest.raises(DomainError, match="most allowed"):
        await qa.kb.add_document(GUILD, "text three", user_id=ALICE, title="Three")
    await qa.kb.add_document(GUILD, "text two, again", user_id=ALICE, title="Two")
    assert (
        await qa.db.fetch_value("SELECT count(*) FROM qa_documents WHERE guild_id = ?", (GUILD,))
        == 2
    )


async def test_title_override_and_untitled_text(qa: QAService) -> None:
    saved = await qa.kb.add_document(
        GUILD, "# Original\n\n## S\n\ntext", user_id=ALICE, title="Renamed by moderator"
    )
    assert (saved.info.title, saved.info.slug) == ("Renamed by moderator", "renamed-by-moderator")
    plain = await qa.kb.add_document(
        GUILD, "No heading at all.", user_id=ALICE, fallback_title="x y"
    )
    assert plain.info.title == "x y" and plain.info.sections == 1
    foreign = await qa.kb.add_document(GUILD, "内容", user_id=ALICE, title="学习笔记")
    assert foreign.info.slug.startswith("doc-")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("notes.pdf", b"%PDF-1.4", "Markdown"),
        ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("latin.txt", "café".encode("latin-1"), "UTF-8"),
        ("huge.md", b"x" * 100_001, "bytes"),
        ("empty.md", b"   ", "empty"),
    ],
)
def test_bad_uploads_are_refused(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(DomainError, match=reason):
        decode_upload(name, data, 100_000)


def test_good_upload_is_decoded() -> None:
    assert decode_upload("Notes.MD", "\ufeff# Tï\n\ntext".encode(), 100) == "# Tï\n\ntext"


async def test_shipped_documents_are_reindexed_only_when_changed(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "one.md").write_text("# One\n\n## A\n\nalpha text", encoding="utf-8")
    (folder / "two.md").write_text("# Two\n\n## B\n\nbeta text", encoding="utf-8")
    kb = KnowledgeBase(
        db,
        clock,
        build_text_search(db),
        chunk_chars=1000,
        max_documents=10,
        doc_max_bytes=10_000,
        shipped_dir=folder,
    )
    first = await kb.sync_shipped()
    assert (first.added, first.updated, first.removed) == (2, 0, 0)
    version = await kb.version(GUILD)
    ids = await db.fetch_all("SELECT id FROM qa_chunks ORDER BY id")
    again = await kb.sync_shipped()
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert await db.fetch_all("SELECT id FROM qa_chunks ORDER BY id") == ids
    assert await kb.version(GUILD) == version

    (folder / "one.md").write_text("# One\n\n## A\n\ngamma text", encoding="utf-8")
    (folder / "two.md").unlink()
    changed = await kb.sync_shipped()
    assert (changed.updated, changed.removed) == (1, 1)
    assert [p.slug for p in (await kb.search(GUILD, "gamma", 3)).passages] == ["one"]
    assert (await kb.search(GUILD, "beta alpha", 3)).passages == ()
    assert await kb.version(GUILD) != version


async def test_listing_and_sections(qa: QAService) -> None:
    await qa.kb.add_document(GUILD, "# Local guide\n\n## Where\n\nhere", user_id=ALICE)
    documents = await qa.kb.list_documents(GUILD)
    shipped = load_shipped_documents()
    assert [d.slug for d in documents if d.shipped] == [
        d.slug for d in sorted(shipped, key=lambda d: d.title.lower())
    ]
    assert documents[-1].slug == "local-guide" and not documents[-1].shipped
    info, sections = await qa.kb.get_document(GUILD, "roadmap")
    assert info.shipped and info.title == "The 12-month AI engineer roadmap"
    assert sections[0] == "Overview" and len(sections) == 6
    text = await qa.kb.get_section_text(GUILD, "roadmap", sections[3])
    assert "PyTorch" in text
    matches = await qa.kb.search_slugs(GUILD, "guide")
    assert [d.slug for d in matches] == ["local-guide"]


async def test_common_terms_are_dropped_past_the_rank_budget(
    qa: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retrieval_module, "POOL_ROWS", 5)
    for n in range(12):
        await qa.kb.add_document(
            GUILD, f"# Note {n}\n\n## Body\n\nplentiful words about plentiful things", user_id=ALICE
        )
    await qa.kb.add_document(
        GUILD, "# Special\n\n## Body\n\nplentiful and scarceword together", user_id=ALICE
    )
    retrieval = await qa.kb.search(GUILD, "plentiful scarceword", 3)
    assert retrieval.passages[0].slug == "special"
    assert retrieval.query.texts() == ["plentiful", "scarceword"]
    only_common = await qa.kb.search(GUILD, "plentiful", 3)
    assert len(only_common.passages) == 3  # the rarest term always stays


async def test_term_counts_are_refreshed_when_documents_change(qa: QAService) -> None:
    assert (await qa.kb.search(GUILD, "quetzalcoatl", 3)).passages == ()
    await qa.kb.add_document(GUILD, "# Myths\n\n## Q\n\nquetzalcoatl story", user_id=ALICE)
    assert [p.slug for p in (await qa.kb.search(GUILD, "quetzalcoatl", 3)).passages] == ["myths"]
    await qa.kb.remove_document(GUILD, "myths")
    assert (await qa.kb.search(GUILD, "quetzalcoatl", 3)).passages == ()


async def test_another_servers_uploads_never_change_this_servers_ranking(qa: QAService) -> None:
    """Term statistics are per server: the shipped documents plus the server's own."""
    filler = " ".join(["notes about the weekly study plan"] * 6)
    await qa.kb.add_document(
        GUILD, f"# Streams\n\n## Brokers\n\n{filler} We run kafka here.", user_id=ALICE
    )
    await qa.kb.add_document(
        GUILD, f"# Flows\n\n## Stages\n\n{filler} Our pipeline is short.", user_id=ALICE
    )
    question = "kafka pipeline"
    before = await qa.kb.search(GUILD, question, 5)
    mine = [p.slug for p in before.passages if p.slug in ("streams", "flows")]
    assert mine == ["streams", "flows"]  # kafka is the rarer word here

    for n in range(30):
        await qa.kb.add_document(
            OTHER_GUILD, f"# Kafka {n}\n\n## Topics\n\nkafka kafka topics and kafka", user_id=BOB
        )
    after = await qa.kb.search(GUILD, question, 5)
    assert [(p.slug, p.section, p.score) for p in after.passages] == [
        (p.slug, p.section, p.score) for p in before.passages
    ]
    assert after.coverage == before.coverage


async def test_a_phrase_of_stop_words_alone_counts_and_finds_nothing(qa: QAService) -> None:
    """Such a phrase has no words to look for: it must not stand for every passage."""
    engine = qa.kb.search_index
    counts = await engine.document_frequencies(GUILD, ["which is which", "junior"])
    assert counts["which is which"] == 0 and counts["junior"] > 0
    assert await engine.candidates(GUILD, ["which is which"], 10, ranked=False) == []
