"""Knowledge-base documents: parsing, chunking and the shipped content's validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import DomainError, StartupError
from bot.services.qa.documents import (
    SHIPPED_DIR,
    chunk_document,
    load_shipped_documents,
    parse_document,
    slugify,
    split_text,
)
from bot.wiring import validate_content


def test_every_shipped_document_is_valid_and_covers_the_brief() -> None:
    documents = {d.slug: d for d in load_shipped_documents()}
    for document in documents.values():
        assert document.title and len(document.title) <= 100
        assert all(section.text.strip() for section in document.sections)
    headings = {d.slug: [s.heading for s in d.sections] for d in documents.values()}
    assert any("Phase 3" in h for h in headings["roadmap"])
    assert len([h for h in headings["roadmap"] if h.startswith("Phase")]) == 4
    roles = documents["entry-level-roles"]
    for role, demand, low, high in [
        ("AI Security & Risk Analyst", "49%", "$83,000", "$156,000"),
        ("AI Research Assistant", "42%", "$81,000", "$133,000"),
        ("Junior Data Scientist", "34%", "$151,000", "$207,000"),
        ("Generative AI Content Creator", "32%", "$58,000", "$107,000"),
        ("Data Annotation Specialist", "27%", "$59,000", "$108,000"),
    ]:
        section = next(s for s in roles.sections if s.heading == role)
        assert demand in section.text and low in section.text and high in section.text
    assert "four project archetypes" in " ".join(headings["portfolio"]).lower()
    assert {"ai-vs-ml-engineer", "prompt-engineering", "job-market", "soft-skills"} <= set(
        documents
    )


def test_validate_content_reports_the_knowledge_base() -> None:
    lines = validate_content()
    documents = load_shipped_documents()
    sections = sum(len(d.sections) for d in documents)
    assert f"knowledge base: {len(documents)} documents, {sections} sections" in lines


def test_sections_subsections_and_code_fences() -> None:
    text = (
        "# Title here\n\nIntro text.\n\n## First\n\nBody one.\n\n### Deeper\n\nSub body.\n\n"
        "## Code\n\n```md\n## not a heading\n```\n"
    )
    document = parse_document(text, slug="t")
    assert document.title == "Title here"
    assert [s.heading for s in document.sections] == [
        "Overview",
        "First",
        "First › Deeper",
        "Code",
    ]
    assert "## not a heading" in document.sections[-1].text


def test_untitled_text_uses_the_fallback_title_or_is_refused() -> None:
    assert parse_document("Just text.", slug="x", fallback_title="Notes").title == "Notes"
    with pytest.raises(DomainError, match="title"):
        parse_document("Just text.", slug="x")
    with pytest.raises(DomainError, match="no text"):
        parse_document("# Only a title\n", slug="x")


def test_long_sections_are_chunked_at_boundaries_within_the_limit() -> None:
    paragraph = " ".join(f"word{i}." for i in range(80))
    body = "\n\n".join([paragraph] * 6) + "\n\n" + "x" * 700
    document = parse_document(f"# T\n\n## Long\n\n{body}", slug="t")
    chunks = chunk_document(document, 300)
    assert all(len(c.text) <= 300 for c in chunks)
    assert {c.section for c in chunks} == {"Long"}
    assert [c.position for c in chunks] == list(range(len(chunks)))
    joined = " ".join(c.text for c in chunks)
    assert joined.count("word79.") == 6
    assert split_text("short", 300) == ["short"]


def test_slugify() -> None:
    assert slugify("Our Study-Group Rules!") == "our-study-group-rules"
    assert slugify("Café déjà vu") == "cafe-deja-vu"
    assert slugify("机器学习") == ""


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("Bad Name.md", "# T\n\n## S\n\nx", "lowercase"),
        ("no-title.md", "## S\n\ntext", "Title"),
        ("no-sections.md", "# T\n\nonly an intro", "Section"),
        ("dupes.md", "# T\n\n## S\n\na\n\n## S\n\nb", "share a heading"),
    ],
)
def test_broken_shipped_document_stops_start_up(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(StartupError, match=reason):
        load_shipped_documents(tmp_path)


def test_non_utf8_or_missing_folder_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / "latin.md").write_bytes("# Tïtle\n\n## S\n\ncafé".encode("latin-1"))
    with pytest.raises(StartupError, match="UTF-8"):
        load_shipped_documents(tmp_path)
    with pytest.raises(StartupError, match="missing"):
        load_shipped_documents(tmp_path / "nowhere")
    assert SHIPPED_DIR.is_dir()
