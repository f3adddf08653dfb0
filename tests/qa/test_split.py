"""Splitting long answers under Discord's 2,000 characters."""

from __future__ import annotations

import random
import re

import pytest

from bot.ui.split import split_message


def fences_balanced(piece: str) -> bool:
    return len(re.findall(r"^```", piece, re.MULTILINE)) % 2 == 0


def test_short_text_is_one_piece() -> None:
    assert split_message("Hello there.") == ["Hello there."]


def test_prose_splits_between_words_under_the_limit() -> None:
    words = [f"w{i:04d}" for i in range(1500)]
    pieces = split_message(" ".join(words))
    assert len(pieces) > 1
    assert all(len(p) <= 2000 for p in pieces)
    assert " ".join(pieces).split() == words


def test_paragraph_breaks_are_preferred() -> None:
    para = "sentence " * 150
    pieces = split_message(f"{para}\n\n{para}\n\n{para}")
    assert all(p.strip().endswith("sentence") for p in pieces)
    assert len(pieces) == 3


def test_code_block_is_closed_and_reopened_with_its_language() -> None:
    code = "\n".join(f"value_{i} = compute({i})" for i in range(200))
    text = f"Here is the code:\n\n```python\n{code}\n```\n\nThat's it."
    pieces = split_message(text)
    assert len(pieces) >= 3
    assert all(len(p) <= 2000 for p in pieces)
    assert all(fences_balanced(p) for p in pieces)
    assert all(p.startswith("```python") for p in pieces[1:-1])
    lines = [line for p in pieces for line in p.splitlines() if line.startswith("value_")]
    assert lines == code.splitlines()


def test_a_code_block_that_fits_moves_to_the_next_message_whole() -> None:
    prose = "word " * 300
    code = "```js\n" + "\n".join(f"let a{i} = {i};" for i in range(60)) + "\n```"
    pieces = split_message(f"{prose.strip()}\n\n{code}")
    assert pieces[-1] == code


def test_one_enormous_word_is_the_only_thing_cut() -> None:
    pieces = split_message("a" * 4500)
    assert [len(p) for p in pieces] == [1996, 1996, 508]


@pytest.mark.parametrize("seed", range(20))
def test_random_markdown_always_fits(seed: int) -> None:
    rng = random.Random(seed)
    parts = []
    for _ in range(rng.randint(5, 40)):
        if rng.random() < 0.3:
            lines = "\n".join("x" * rng.randint(0, 120) for _ in range(rng.randint(1, 40)))
            parts.append(f"```{rng.choice(['', 'py', 'sh'])}\n{lines}\n```")
        else:
            parts.append(" ".join("y" * rng.randint(1, 15) for _ in range(rng.randint(1, 200))))
    pieces = split_message("\n\n".join(parts), 500)
    assert all(0 < len(p) <= 500 for p in pieces)
    assert all(fences_balanced(p) for p in pieces)
