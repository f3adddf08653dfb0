"""Member text turned into safe search terms: words only, nothing else passed on.

Full-text query languages give meaning to quotes, hyphens (column filters), `*`, `^`, `:`,
parentheses and the words AND, OR, NOT and NEAR. Only word characters survive here, and
each engine's search (`bot.db.search`) quotes every term, so whatever a member types, the
query is a plain OR of words.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERMS = 24
MAX_TERM_CHARS = 64

STOPWORDS = frozenset(
    """
    a about after again all also am an and any are as at be been before being between both
    but by can could did do does doing done during each even ever every few for from get
    gets getting give go going got had has have having he her here hers him his how i if in
    into is it its itself just know let like ll make many may me might more most much must
    my need no nor not now of off on once one only or other our ours out over own please re
    really same she should so some such tell than that the their theirs them then there
    these they thing things think this those through to too under until up us ve very want
    was we were what when where which while who whom why will with would yes you your yours
    s t d m
    """.split()  # noqa: SIM905
)


def normalize_question(text: str) -> str:
    """Case- and punctuation-insensitive form of a question, for caching and grouping."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(WORD.findall(folded))


def query_terms(text: str, limit: int = MAX_TERMS) -> list[str]:
    """Distinct search terms of `text`, stopwords dropped unless nothing else is left."""
    words = [w[:MAX_TERM_CHARS] for w in WORD.findall(normalize_question(text))]
    content = [w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    chosen = content or words
    return list(dict.fromkeys(chosen))[:limit]


def scope_token(guild_id: int) -> str:
    return f"g{int(guild_id)}"


def term_coverage(terms: list[str], text: str) -> float:
    """Share of `terms` found in `text`, matching a word that starts with the term's stem.

    A cheap stand-in for the stemmer's view, used to tell a strong match from a weak one.
    """
    if not terms:
        return 0.0
    words = set(WORD.findall(normalize_question(text)))
    found = 0
    for term in terms:
        stem = term[: max(4, len(term) - 2)] if len(term) > 4 else term
        if term in words or any(word.startswith(stem) for word in words):
            found += 1
    return found / len(terms)
