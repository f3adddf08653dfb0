"""A guard over the whole suite: no log line may contain the text of a question.

The README promises that logs never hold what members typed. Every question any test
hands to `QAService.reserve` is remembered, every log line emitted during the test (INFO
and above, tracebacks included, from the bot, discord.py or any library) is kept, and the
test fails at teardown if one of those lines contains one of those questions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.services.qa.service import QAService

# Shorter texts ("hi", "x") could occur in a log line by chance.
SHORTEST_CHECKED = 10


class LineCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted says nothing either
            self.handleError(record)


def leaked(lines: list[str], questions: list[str]) -> list[tuple[str, str]]:
    """(question, line) pairs where a log line contains a question's text."""
    texts = {" ".join(q.split()) for q in questions} | set(questions)
    texts = {t for t in texts if len(t.strip()) >= SHORTEST_CHECKED}
    return [(t, line) for line in lines for t in texts if t in line]


@pytest.fixture(autouse=True)
def no_question_text_in_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    asked: list[str] = []
    reserve = QAService.reserve

    async def remembering(self: QAService, *args: Any, **kwargs: Any) -> Any:
        question = kwargs.get("question", args[3] if len(args) > 3 else "")
        asked.append(str(question))
        return await reserve(self, *args, **kwargs)

    monkeypatch.setattr(QAService, "reserve", remembering)
    collector = LineCollector()
    root = logging.getLogger()
    level = root.level
    root.addHandler(collector)
    root.setLevel(min(level, logging.INFO))
    try:
        yield
    finally:
        root.removeHandler(collector)
        root.setLevel(level)
    found = leaked(collector.lines, asked)
    if found:
        question, line = found[0]
        pytest.fail(f"a log line holds a member's question {question!r}:\n{line}")
