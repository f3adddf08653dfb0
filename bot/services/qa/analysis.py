"""Text analysis shared by questions and passages: folding, words and stems.

Words are folded the way the SQLite index folds them (case, accents, NFKC) and reduced with
the Porter stemmer, the algorithm of FTS5's `porter` tokenizer, so counting a stem in a
passage here agrees with what the index matched. Words under three letters are kept whole,
as FTS5 keeps them.
"""

from __future__ import annotations

import re
import unicodedata

import snowballstemmer

WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_WORD_CHARS = 64
STEM_CACHE_SIZE = 65_536
_stemmer = snowballstemmer.stemmer("porter")
_stems: dict[str, str] = {}  # folded word -> stem; passages are analysed word by word


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


def stem(word: str) -> str:
    """The Porter stem of a folded word."""
    found = _stems.get(word)
    if found is None:
        word = word[:MAX_WORD_CHARS]
        found = word if len(word) < 3 or not word.isascii() else _stemmer.stemWord(word)
        if len(_stems) >= STEM_CACHE_SIZE:
            _stems.clear()
        _stems[word] = found
    return found


def stems(text: str) -> list[str]:
    """The stems of `text`'s words, in order."""
    cache = _stems
    result = []
    for word in WORD.findall(fold(text)):
        found = cache.get(word)
        result.append(found if found is not None else stem(word))
    return result
