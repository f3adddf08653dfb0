"""Query understanding without a model, and the vocabulary file it reads."""

from __future__ import annotations

import pytest

from bot.errors import StartupError
from bot.services.qa.query import understand
from bot.services.qa.vocabulary import VOCABULARY_FILE, load_vocabulary, parse_vocabulary

ONE_PHASE = (
    '[roadmap]\nmonths = 12\n[[roadmap.phase]]\nnumber = 1\nmonths = [1, 3]\nterms = ["a"]\n'
)
PHASE_TERMS = {
    1: "months 1 to 3",
    2: "months 4 to 6",
    3: "months 7 to 9",
    4: "months 10 to 12",
}


def phases_in(question: str) -> set[int]:
    texts = set(understand(question).texts())
    return {number for number, term in PHASE_TERMS.items() if term in texts}


@pytest.mark.parametrize(
    ("question", "phases"),
    [
        ("What should I focus on in my first three months?", {1}),
        ("I'm starting from zero: what's the plan for my first quarter?", {1}),
        ("what do I do in months four to six?", {2}),
        ("months 4-6", {2}),
        ("what's the 2nd phase about?", {2}),
        ("phase two", {2}),
        ("month 8, what should I be learning?", {3}),
        ("my eighth month", {3}),
        ("Q3 goals", {3}),
        ("what's in the last phase?", {4}),
        ("the final quarter", {4}),
        ("my last three months", {4}),
        ("months 2 to 5", {1, 2}),
        ("first 6 months", {1, 2}),
        ("What do I do in months 10 to 12?", {4}),
        ("one way to learn python", set()),
        ("months 13 to 20", set()),
        ("phase 9", set()),
    ],
)
def test_periods_of_the_roadmap_become_its_phases(question: str, phases: set[int]) -> None:
    assert phases_in(question) == phases


def test_a_period_counts_once_and_its_words_are_used_up() -> None:
    query = understand("What should I focus on in my first three months?")
    labels = [c.label for c in query.concepts]
    assert labels == ["first three months", "focus"]


def test_synonyms_and_abbreviations_search_for_each_other() -> None:
    query = understand("Which beginner ML job pays the most?")
    by_label = {c.label: {a.text: a.weight for a in c.alternatives} for c in query.concepts}
    assert by_label["ml"]["machine learning"] == 1.0
    assert by_label["beginner"]["beginner"] == 1.0 and "junior" in by_label["beginner"]
    assert "entry level" in by_label["beginner"] and by_label["beginner"]["junior"] < 1.0
    assert "role" in by_label["job"]
    assert "highest salary" in by_label["pays the most"]
    # Stemming: the plural finds the same group.
    assert "salary" in understand("salaries?").texts()


def test_stop_words_emoji_and_foreign_scripts_leave_nothing_to_search() -> None:
    assert understand("what is it and how do I?").empty
    assert understand("🤖🚀🔥 !!!").empty
    assert understand("   ").empty
    assert understand("机器学习是什么").texts() == ["机器学习是什么"]  # a word it won't find


def test_a_4000_character_question_is_cut_to_its_first_concepts() -> None:
    words = " ".join(f"topic{n}" for n in range(600))
    query = understand(words[:4000])
    assert len(query.concepts) == 24
    assert query.concepts[0].label == "topic0"


def test_the_shipped_vocabulary_loads() -> None:
    vocabulary = load_vocabulary()
    assert len(vocabulary.synonyms) >= 40
    assert [p.number for p in vocabulary.phases] == [1, 2, 3, 4]
    assert "the" in vocabulary.stopwords


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stopwords = [", "Search vocabulary"),
        ("[numbers]\n", "roadmap"),
        (
            '[roadmap]\nmonths = 12\n[[roadmap.phase]]\nnumber = 1\nmonths = [4, 2]\nterms = ["x"]',
            "phase 1 months",
        ),
        (
            ONE_PHASE
            + '[[synonyms]]\nterms = ["pay", "salary"]\n[[synonyms]]\nterms = ["salaries", "wage"]',
            "two synonym groups",
        ),
        (
            ONE_PHASE + '[[synonyms]]\nterms = ["pay", "paying"]',
            "at least two different terms",
        ),
        (
            ONE_PHASE + '[[synonyms]]\nterms = ["pay", "salary"]\nweight = 2',
            "weight",
        ),
    ],
)
def test_a_broken_vocabulary_stops_the_bot_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(StartupError, match=message):
        parse_vocabulary(text, "Search vocabulary test.toml")


def test_the_vocabulary_file_is_under_content() -> None:
    assert VOCABULARY_FILE.parts[-3:] == ("content", "qa", "vocabulary.toml")
