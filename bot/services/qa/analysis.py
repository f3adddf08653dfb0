"""Text analysis shared by questions and passages: folding, words and stems.

Words are folded the way the SQLite index folds them (case, accents, NFKC) and reduced with
the Porter stemmer, the algorithm of FTS5's `porter` tokenizer, so counting a stem in a
passage here agrees with what the index matched. Words under three letters are kept whole,
as FTS5 keeps them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_WORD_CHARS = 64
_stemmer = snowballstemmer.stemmer("porter")


def fold(text: str) -> str:
    """Case-, width- and accent-insensitive form of `text`."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded words of `text`, each cut to MAX_WORD_CHARS."""
    return [w[:MAX_WORD_CHARS] for w in WORD.findall(fold(text))]


def normalize_question(text: str) -> str:
    """Case- and punctuation-insensitive form of a question, for caching and grouping."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(WORD.findall(folded))


@lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The Porter stem of a folded word."""
    if len(word) < 3 or not word.isascii():
        return word
    return _stemmer.stemWord(word)


def stems(text: str) -> list[str]:
    return [stem(w) for w in words(text)]
