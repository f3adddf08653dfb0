"""Portfolio input: links, form text, scores and the rubric content file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.errors import DomainError, StartupError
from bot.services.links import check_link
from bot.services.portfolio.drafts import (
    DESCRIPTION_MAX,
    clean_text,
    parse_helpful,
    request_draft,
    review_draft,
)
from bot.services.portfolio.rubric import CRITERIA_KEYS, RUBRIC_PATH, default_rubric, load_rubric
from bot.wiring import validate_content


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://github.com/me/project", "https://github.com/me/project"),
        ("HTTPS://GitHub.com/Me/Project", "https://github.com/Me/Project"),
        ("http://huggingface.co/spaces/me/demo?x=1#top", None),
        ("  https://me.github.io/demo/  ", "https://me.github.io/demo/"),
        ("https://gitlab.com:443/me/p", None),
        ("https://bücher.example.org/x", "https://xn--bcher-kva.example.org/x"),
        ("https://8.8.8.8/app", None),
    ],
)
def test_good_links_are_accepted_and_normalised(link: str, expected: str | None) -> None:
    assert check_link(link, label="Repository link") == (expected or link.strip())


@pytest.mark.parametrize(
    ("link", "reason"),
    [
        ("javascript:alert(document.cookie)", "only http:// and https://"),
        ("JaVaScRiPt:alert(1)", "only http:// and https://"),
        ("data:text/html;base64,PHNjcmlwdD4=", "only http:// and https://"),
        ("data:text/html,<script>alert(1)</script>", "only http:// and https://"),
        ("ftp://files.example.org/x", "only http:// and https://"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("github.com/me/project", "only http:// and https://"),
        ("https://user:secret@github.com/me/p", "user name or password"),
        ("https://github.com@evil.org/", "user name or password"),
        ("http://localhost:8000/", "needs a dot"),
        ("http://intranet/", "needs a dot"),
        ("https://app.localhost/", "local name"),
        ("https://nas.local/", "local name"),
        ("http://127.0.0.1:5000/", "private or local"),
        ("http://192.168.1.10/", "private or local"),
        ("http://[::1]/", "private or local"),
        ("https://github.com/me/my project", "spaces or characters"),
        ('https://github.com/"><img src=x>', "spaces or characters"),
        ("https:///nohost", "no host"),
        ("https://-bad-.com/", "not a valid host"),
        ("https://github.123/", "not a valid host"),
        ("https://github.com:99999/", "invalid port"),
        ("https://github.com/" + "a" * 400, "characters; 300 at most"),
        ("", "paste a link"),
        ("   ", "paste a link"),
    ],
)
def test_bad_links_are_refused_with_a_reason(link: str, reason: str) -> None:
    with pytest.raises(DomainError, match=reason):
        check_link(link, label="Repository link")


def form(**changes: str) -> dict[str, str]:
    values = {
        "archetype": "agent_with_apis",
        "title": "Travel agent",
        "repo_url": "https://github.com/me/agent",
        "demo_url": "",
        "description": "Books trips by calling flight and hotel APIs in several steps.",
        "feedback_wanted": "Error handling when an API times out.",
        "self_check": "complete",
    }
    return {**values, **changes}


def test_a_3000_character_description_is_refused() -> None:
    with pytest.raises(DomainError, match=f"3,000 characters is too long; {DESCRIPTION_MAX:,}"):
        request_draft(default_rubric(), **form(description="x" * 3000))


def test_every_problem_of_a_form_is_listed_at_once() -> None:
    with pytest.raises(DomainError) as refused:
        request_draft(
            default_rubric(),
            **form(
                title="  ",
                repo_url="javascript:alert(1)",
                demo_url="data:text/plain,hi",
                description="short",
                archetype="blockchain",
            ),
        )
    message = refused.value.message
    assert message.startswith("Please fix these:")
    for part in ("not a project type", "Title", "Repository link", "Demo link", "What it does"):
        assert part in message


def test_text_is_cleaned_but_mentions_are_kept() -> None:
    assert clean_text("a\x00b\x1bc\r\n\n\n\nd", label="x", max_chars=50) == "abc\n\nd"
    assert clean_text(" Title \n with\ttabs ", label="x", max_chars=50, single_line=True) == (
        "Title with tabs"
    )
    assert clean_text("@everyone <@1>", label="x", max_chars=50) == "@everyone <@1>"
    with pytest.raises(DomainError, match="can't be empty"):
        clean_text("\x00\n ", label="Title", max_chars=50, min_chars=3)


@pytest.mark.parametrize("text", ["4 3 5 2 4", "4,3,5,2,4", " 4 / 3 / 5 / 2 / 4 ", "4\t3 5 2 4"])
def test_scores_in_rubric_order(text: str) -> None:
    assert default_rubric().parse_scores(text) == dict(
        zip(CRITERIA_KEYS, [4, 3, 5, 2, 4], strict=True)
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "4 3 5 2",
        "4 3 5 2 4 1",
        "0 3 5 2 4",
        "6 3 5 2 4",
        "4.5 3 5 2 4",
        "43524",
        "four three five two four",
        "4 3 5 2 4; DROP",
        "44 3 5 2 4",
    ],
)
def test_scores_are_parsed_strictly(text: str) -> None:
    with pytest.raises(DomainError, match="five whole numbers from 1 to 5"):
        default_rubric().parse_scores(text)


def test_review_needs_real_feedback() -> None:
    with pytest.raises(DomainError) as refused:
        review_draft(default_rubric(), scores="9", strengths="ok", improvements="")
    assert "Scores" in refused.value.message and "Strengths" in refused.value.message
    assert "What to improve" in refused.value.message


@pytest.mark.parametrize("bad", ["0", "6", "", "4.0", "five", "3 stars"])
def test_helpful_rating_is_one_to_five(bad: str) -> None:
    with pytest.raises(DomainError, match="1 \\(not helpful\\) to 5"):
        parse_helpful(bad)
    assert parse_helpful(" 4 ") == 4


def test_shipped_rubric_is_valid_and_names_the_five_archetypes() -> None:
    rubric = load_rubric()
    assert rubric.archetype_keys == (
        "rag_app",
        "agent_with_apis",
        "edge_cv",
        "data_pipeline",
        "other",
    )
    assert tuple(c.key for c in rubric.criteria) == CRITERIA_KEYS
    assert any("README" in item for item in rubric.checklist)
    assert rubric.summary().startswith("portfolio: 5 project types")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda t: t.replace('key = "data"', 'key = "vibes"'), "criteria must be"),
        (lambda t: t.replace('key = "other"', 'key = "misc"'), "must include 'other'"),
        (lambda t: t.replace('key = "edge_cv"', 'key = "rag_app"'), "distinct keys"),
        (lambda t: t.replace("[checklist]", "[checklistx]"), "checklist"),
        (lambda t: t + "\n[[[broken", "cannot be read"),
    ],
)
def test_broken_rubric_stops_start_up_clearly(
    tmp_path: Path, edit: Callable[[str], str], reason: str
) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(edit(RUBRIC_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(StartupError, match=reason):
        load_rubric(path)


def test_start_up_content_check_includes_the_rubric() -> None:
    assert any(line.startswith("portfolio: 5 project types") for line in validate_content())
