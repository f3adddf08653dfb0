"""The shipped challenge bank and moderators' additions: validation and precise errors."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bot.errors import DomainError, NotFound
from bot.services.challenges import load_shipped
from bot.services.challenges.bank_format import (
    OPTION_MAX,
    BankFormatError,
    parse_challenges,
    parse_document,
)
from bot.services.challenges.model import TOPIC_LABELS, Challenge, Kind, Phase
from bot.wiring import Services, validate_content
from cogs.challenges._daily import AnswerButton, HintButton, PracticeButton
from cogs.challenges._review import ReviewButton

BANK = load_shipped()
GUILD, MOD = 1, 500

GOOD_QUIZ_TOML = """
[[challenge]]
id = "srv-quiz"
title = "Server quiz"
kind = "quiz"
phase = "ml_core"
topic = "classical_ml"
difficulty = "easy"
prompt = "Which one?"
options = ["a", "b"]
correct = 2
explanation = "Because b."
hint = "Not a."
"""


def test_bank_is_large_and_covers_every_phase_and_topic() -> None:
    kinds = Counter(c.kind for c in BANK)
    assert kinds[Kind.QUIZ] >= 160 and kinds[Kind.TASK] >= 25
    phases = Counter(c.phase for c in BANK)
    assert set(phases) == set(Phase)
    assert max(phases.values()) <= 1.25 * min(phases.values())  # an even spread
    assert all(Counter(c.phase for c in BANK if c.kind is Kind.TASK)[p] >= 5 for p in Phase)
    topics = Counter(c.topic for c in BANK)
    assert set(topics) == set(TOPIC_LABELS) and min(topics.values()) >= 6
    assert {c.difficulty.value for c in BANK} == {"easy", "medium", "hard"}


def test_the_areas_that_were_thin_have_questions() -> None:
    """CNNs, RNNs, TensorFlow, the cloud providers, and the months 10-12 specialisations."""
    quizzes = [c for c in BANK if c.is_quiz]
    for tag in ("cnn", "rnn", "tensorflow"):
        assert sum(tag in c.tags for c in quizzes) >= 4, tag
    assert sum(c.topic == "cloud" for c in quizzes) >= 6
    for topic in ("computer_vision", "nlp", "agents"):
        in_production = [c for c in BANK if c.topic == topic and c.phase is Phase.PRODUCTION]
        assert len(in_production) >= 3 and any(not c.is_quiz for c in BANK if c.topic == topic)


def uniquely_longest(challenge: Challenge) -> bool:
    lengths = [len(option) for option in challenge.options]
    right = lengths[challenge.correct_index or 0]
    return right == max(lengths) and lengths.count(right) == 1


def test_the_right_option_is_rarely_the_uniquely_longest() -> None:
    """Picking the longest option must not be a strategy that works."""
    quizzes = [c for c in BANK if c.is_quiz]
    longest = [c.id for c in quizzes if uniquely_longest(c)]
    assert len(longest) <= 0.30 * len(quizzes), longest


def test_bank_ids_unique_and_each_quiz_has_exactly_one_correct_option() -> None:
    ids = [c.id for c in BANK]
    assert len(ids) == len(set(ids))
    for c in BANK:
        if c.kind is Kind.QUIZ:
            assert 2 <= len(c.options) <= 5, c.id
            assert c.correct_index is not None and 0 <= c.correct_index < len(c.options), c.id
            assert len({o.casefold() for o in c.options}) == len(c.options), c.id
            assert c.explanation and "\n" not in c.explanation, c.id
        else:
            assert c.options == () and c.correct_index is None, c.id
        assert c.hint, c.id


def test_bank_fits_discord_limits() -> None:
    longest_id = max(BANK, key=lambda c: len(c.id)).id
    for item in (
        AnswerButton(2**63 - 1, 4),
        HintButton(2**63 - 1),
        PracticeButton(longest_id.ljust(40, "x"), 4),
        ReviewButton("a", 2**63 - 1),
    ):
        assert len(item.custom_id) <= 100
    for c in BANK:
        assert len(c.title) <= 100 and len(c.prompt) <= 1500 and len(c.hint) <= 300
        for option in c.options:
            assert len(f"E. {option}") <= 80, (c.id, option)
        assert len(c.explanation) <= 1000


def test_quiz_answers_are_not_always_in_the_same_place() -> None:
    positions = Counter(c.display_order.index(c.correct_index) for c in BANK if c.is_quiz)
    assert max(positions.values()) < 0.5 * sum(positions.values())


def test_validate_content_reports_the_bank() -> None:
    line = next(line for line in validate_content() if line.startswith("challenges:"))
    assert f"challenges: {len(BANK)}" in line


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("correct = 2\n", ""), "line 2: quiz 'srv-quiz' has no correct option"),
        (lambda t: t.replace("correct = 2", "correct = 7"), "correct = 7, but it has 2 options"),
        (lambda t: t.replace('["a", "b"]', '["a"]'), "needs 2 to 5 options"),
        (lambda t: t.replace('"b"]', '"A"]'), "two identical options"),
        (lambda t: t.replace('"b"]', '"' + "b" * (OPTION_MAX + 1) + '"]'), "it becomes a button"),
        (lambda t: t.replace("ml_core", "month_4"), "phase must be one of"),
        (lambda t: t.replace("classical_ml", "astrology"), "topic must be one of"),
        (lambda t: t.replace('"srv-quiz"', '"Bad Id!"'), "id must be"),
        (lambda t: t.replace('hint = "Not a."', ""), "needs a non-empty hint"),
        (lambda t: t + 'colour = "red"\n', "unknown field 'colour'"),
        (lambda t: t.replace("prompt = ", "prompt = \n"), "not valid TOML"),
    ],
)
def test_bad_toml_gets_a_precise_error(edit, message: str) -> None:
    text = edit(GOOD_QUIZ_TOML)
    with pytest.raises(BankFormatError) as info:
        entries, locate = parse_document(text, "toml")
        parse_challenges(entries, locate)
    assert message in info.value.message


def test_json_errors_name_the_line_of_the_entry() -> None:
    good = json.loads(json.dumps(parse_document(GOOD_QUIZ_TOML, "toml")[0][0]))
    broken = dict(good, id="second-one", options=[{"text": "x"}, {"text": "y"}])
    del broken["correct"]
    text = json.dumps({"challenges": [good, broken]}, indent=2)
    entries, locate = parse_document(text, "json")
    with pytest.raises(BankFormatError) as info:
        parse_challenges(entries, locate)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"second-one"' in row)
    assert f"line {line}: quiz 'second-one' has no correct option" in info.value.message


def test_option_tables_with_two_correct_are_refused() -> None:
    entry = dict(
        parse_document(GOOD_QUIZ_TOML, "toml")[0][0],
        options=[{"text": "x", "correct": True}, {"text": "y", "correct": True}],
    )
    del entry["correct"]
    with pytest.raises(BankFormatError, match="2 correct options"):
        parse_challenges([entry], lambda i, e: None)


def test_malformed_json_names_line_and_column() -> None:
    with pytest.raises(BankFormatError, match="line 3: not valid JSON"):
        parse_document('[\n  {"id": "x"},\n  oops\n]', "json")


async def test_import_adds_all_or_nothing(services: Services) -> None:
    bank = services.challenges.bank
    two = GOOD_QUIZ_TOML + GOOD_QUIZ_TOML.replace("srv-quiz", "srv-quiz-2")
    added = await bank.import_file(GUILD, MOD, "mine.toml", two.encode())
    assert [c.id for c in added] == ["srv-quiz", "srv-quiz-2"]
    assert (await bank.get(GUILD, "srv-quiz")).custom
    with pytest.raises(NotFound):
        await bank.get(2, "srv-quiz")  # another server never sees it

    third = GOOD_QUIZ_TOML.replace("srv-quiz", "srv-third") + GOOD_QUIZ_TOML  # 2nd clashes
    with pytest.raises(BankFormatError, match="line 15: id 'srv-quiz' is already in the bank"):
        await bank.import_file(GUILD, MOD, "again.toml", third.encode())
    with pytest.raises(NotFound):
        await bank.get(GUILD, "srv-third")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.csv", b"id,title", "Attach a .json or .toml file"),
        ("x.toml", b"\xff\xfe\x00", "not UTF-8"),
        ("x.json", b"[]", "no challenges"),
        ("x.json", b"x" * 300_000, "the limit is"),
        ("x.toml", GOOD_QUIZ_TOML.replace("py", "").replace("srv-quiz", "py-dict-order").encode(),
         "already in the bank"),
    ],
)  # fmt: skip
async def test_import_refusals(services: Services, name: str, data: bytes, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        await services.challenges.bank.import_file(GUILD, MOD, name, data)
    assert await services.db.fetch_value("SELECT count(*) FROM challenge_custom") == 0


async def test_disable_hides_from_rotation_and_list_filters(services: Services) -> None:
    bank = services.challenges.bank
    await bank.disable(GUILD, MOD, "py-dict-order")
    with pytest.raises(DomainError, match="already disabled"):
        await bank.disable(GUILD, MOD, "py-dict-order")
    with pytest.raises(NotFound):
        await bank.disable(GUILD, MOD, "no-such-thing")
    assert "py-dict-order" not in {c.id for c in await bank.available(GUILD)}
    assert "py-dict-order" in {c.id for c in await bank.available(2)}
    python_easy = await bank.search(GUILD, topic="python", difficulty="easy")
    assert python_easy and all(
        e.challenge.topic == "python" and e.challenge.difficulty == "easy" for e in python_easy
    )
    assert any(e.disabled for e in python_easy)


async def test_add_from_the_modal_fields(services: Services) -> None:
    raw = {
        "id": "mod-task",
        "kind": "task",
        "phase": "production",
        "topic": "mlops",
        "difficulty": "hard",
        "title": "Deploy it",
        "prompt": "Deploy a model.",
        "hint": "Docker.",
        "tags": [],
    }
    challenge = await services.challenges.bank.add(GUILD, MOD, raw)
    assert challenge.kind is Kind.TASK
    with pytest.raises(DomainError, match="already in the bank"):
        await services.challenges.bank.add(GUILD, MOD, raw)
    with pytest.raises(DomainError, match="has no correct option"):
        await services.challenges.bank.add(
            GUILD, MOD, dict(raw, id="quiz-two", kind="quiz", options=["a", "b"], explanation="e")
        )
