"""No spoilers: spot questions about an open challenge, and hide its answer in any text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.services.contracts import OpenChallenge
from bot.services.qa.analysis import normalize_question
from bot.services.qa.query import query_terms

QUIZ_WORDS = frozenset({"quiz", "quizzes"})
CHALLENGE_WORDS = frozenset({"challenge", "challenges", "puzzle", "exercise"})
NOW_WORDS = frozenset({"today", "todays", "daily", "weekly", "week", "weeks", "current"})
HIDDEN = "‖hidden until the challenge closes‖"
MIN_ANSWER_CHARS = 2
SHORT_ANSWER_CHARS = 80


def answer_forms(answer: str | None) -> list[str]:
    """The ways an answer may appear: whole, and (for "option. explanation" answers, as the
    challenges service gives a quiz's) its short first part, the option itself."""
    if not answer or len(answer.strip()) < MIN_ANSWER_CHARS:
        return []
    forms = [answer.strip()]
    head = answer.strip().split(". ", 1)[0].strip()
    if head != forms[0] and MIN_ANSWER_CHARS <= len(head) <= SHORT_ANSWER_CHARS:
        forms.append(head)
    return forms


def matching_challenge(
    question: str, challenges: Sequence[OpenChallenge], min_overlap: float
) -> OpenChallenge | None:
    """The open challenge the question is about, if any.

    A question matches when it asks about "the quiz" or "today's challenge" outright, when
    it shares at least `min_overlap` of the challenge's key terms (or of its own, when the
    question is the shorter), or when it names the answer and shares a term with it.
    """
    if not challenges:
        return None
    folded = normalize_question(question)
    words = set(folded.split())
    if words & QUIZ_WORDS or (words & CHALLENGE_WORDS and words & NOW_WORDS):
        named = [c for c in challenges if c.kind in words]
        quizzes = [c for c in challenges if c.kind == "daily"] if words & QUIZ_WORDS else []
        return (named or quizzes or list(challenges))[0]
    asked = set(query_terms(question))
    best: tuple[float, OpenChallenge] | None = None
    for challenge in challenges:
        key = set(query_terms(f"{challenge.title} {challenge.text}", limit=64))
        shared = len(asked & key)
        if shared and _mentions_answer(folded, challenge.answer):
            return challenge
        if not key or not asked or shared < 2:
            continue
        overlap = max(shared / len(key), shared / len(asked))
        if overlap >= min_overlap and (best is None or overlap > best[0]):
            best = (overlap, challenge)
    return None if best is None else best[1]


def _mentions_answer(folded_question: str, answer: str | None) -> bool:
    for form in answer_forms(answer):
        target = normalize_question(form)
        if len(target) >= MIN_ANSWER_CHARS and re.search(
            rf"(?<!\w){re.escape(target)}(?!\w)", folded_question
        ):
            return True
    return False


def redact(text: str, answer: str | None) -> str:
    """Replace the challenge's answer wherever it appears (case-insensitive, whole words)."""
    for form in answer_forms(answer):
        body = r"\s+".join(re.escape(word) for word in form.split())
        pattern = re.compile(r"(?<!\w)" + body + r"(?!\w)", re.IGNORECASE)
        text = pattern.sub(HIDDEN, text)
    return text


def safe_prefix(text: str, answer: str | None) -> str:
    """The part of a growing text that can be shown now: redacted, minus a tail that could
    still turn out to be the start of the answer."""
    redacted = redact(text, answer)
    forms = answer_forms(answer)
    if not forms:
        return redacted
    hold = min(max(len(f) for f in forms), SHORT_ANSWER_CHARS)
    return redacted[: max(0, len(redacted) - hold)]
