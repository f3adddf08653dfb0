"""Reading challenges from TOML or JSON, with errors that name the line to fix."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from typing import Any

from bot.discord_limits import BUTTON_LABEL
from bot.errors import DomainError
from bot.services.challenges.model import TOPIC_LABELS, Challenge, Difficulty, Kind, Phase

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,29}$")
TOML_HEADER = re.compile(r"^\s*\[\[\s*challenges?\s*\]\]\s*(#.*)?$")
JSON_ID = re.compile(r'"id"\s*:\s*("(?:[^"\\]|\\.)*")')
TOO_DEEP = "the file is nested too deeply to be a challenge bank (lists in lists in lists...)"

TITLE_MAX = 100
PROMPT_MAX = 1500
OPTION_MAX = BUTTON_LABEL - len("A. ")  # an option becomes a button label "A. <option>"
EXPLANATION_MAX = 1000
HINT_MAX = 300
TAGS_MAX = 5
OPTIONS_MIN, OPTIONS_MAX = 2, 5
MAX_ERRORS_SHOWN = 10

KNOWN_KEYS = {
    "id",
    "title",
    "prompt",
    "difficulty",
    "phase",
    "topic",
    "tags",
    "kind",
    "hint",
    "options",
    "correct",
    "explanation",
}


class BankFormatError(DomainError):
    """One or more problems in a challenge file; `problems` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        text = "\n".join(f"- {p}" for p in shown)
        if more > 0:
            text += f"\n- ... and {more} more"
        super().__init__(f"Nothing was imported. Fix these and try again:\n{text}")
        self.problems = problems


Locator = Callable[[int, Any], int | None]


def parse_document(text: str, fmt: str) -> tuple[list[Any], Locator]:
    """The list of raw challenge entries in `text` and a function giving each one's line."""
    if fmt == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BankFormatError([f"not valid TOML: {exc}"]) from None
        except RecursionError:
            raise BankFormatError([TOO_DEEP]) from None
        entries = data.get("challenge", data.get("challenges"))
        if not isinstance(entries, list):
            raise BankFormatError(["a TOML file needs [[challenge]] tables, one per challenge"])
        return entries, _toml_locator(text)
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BankFormatError(
                [f"line {exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"]
            ) from None
        except RecursionError:
            raise BankFormatError([TOO_DEEP]) from None
        if isinstance(data, dict):
            data = data.get("challenges", data.get("challenge"))
        if not isinstance(data, list):
            raise BankFormatError(
                ['a JSON file needs a list of challenges, or {"challenges": [...]}']
            )
        return data, _json_locator(text)
    raise BankFormatError([f"unknown format '{fmt[:10]}': use a .toml or .json file"])


def _toml_locator(text: str) -> Locator:
    headers = [n for n, line in enumerate(text.splitlines(), start=1) if TOML_HEADER.match(line)]

    def locate(index: int, entry: Any) -> int | None:
        return headers[index] if index < len(headers) else None

    return locate


def _json_locator(text: str) -> Locator:
    """The line of each id's first `"id": "..."` in the text, found in one pass."""
    lines: dict[str, int] = {}
    line, position = 1, 0
    for match in JSON_ID.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        try:
            value = json.loads(match.group(1))
        except ValueError:
            continue
        lines.setdefault(value, line)

    def locate(index: int, entry: Any) -> int | None:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            return None
        return lines.get(entry["id"])

    return locate


def parse_challenges(
    entries: list[Any], locate: Locator, *, custom: bool = False
) -> list[Challenge]:
    """Validate every entry; raise one BankFormatError listing all problems found."""
    problems: list[str] = []
    challenges: list[Challenge] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        line = locate(index, entry)
        where = f"line {line}" if line is not None else f"challenge #{index + 1}"
        try:
            challenge = parse_challenge(entry, custom=custom)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if challenge.id in seen:
            problems.append(f"{where}: id '{challenge.id}' is used twice")
            continue
        seen[challenge.id] = index
        challenges.append(challenge)
    if problems:
        raise BankFormatError(problems)
    return challenges


def parse_challenge(entry: Any, *, custom: bool = False) -> Challenge:
    """One challenge from a mapping, or ValueError naming the first problem."""
    if not isinstance(entry, dict):
        raise ValueError("each challenge must be a table/object of fields")
    raw_id = entry.get("id")
    if not isinstance(raw_id, str) or not ID_PATTERN.match(raw_id):
        raise ValueError(
            "id must be 3-40 characters of lower-case letters, digits and dashes"
            + (f" (got {str(raw_id)[:45]!r})" if raw_id is not None else " (missing)")
        )
    name = raw_id
    unknown = sorted(set(entry) - KNOWN_KEYS)
    if unknown:
        raise ValueError(f"challenge '{name}' has unknown field '{unknown[0][:30]}'")
    kind = _enum(entry, "kind", Kind, name)
    title = _text(entry, "title", name, TITLE_MAX)
    prompt = _text(entry, "prompt", name, PROMPT_MAX)
    hint = _text(entry, "hint", name, HINT_MAX)
    difficulty = _enum(entry, "difficulty", Difficulty, name)
    phase = _enum(entry, "phase", Phase, name)
    topic = entry.get("topic")
    if topic not in TOPIC_LABELS:
        raise ValueError(
            f"challenge '{name}': topic must be one of {', '.join(TOPIC_LABELS)}"
            f" (got {str(topic)[:30]!r})"
        )
    tags = entry.get("tags", [])
    if not isinstance(tags, list) or len(tags) > TAGS_MAX:
        raise ValueError(f"challenge '{name}': tags must be a list of at most {TAGS_MAX}")
    for tag in tags:
        if not isinstance(tag, str) or not TAG_PATTERN.match(tag):
            raise ValueError(
                f"challenge '{name}': tag {str(tag)[:35]!r} must be lower-case letters, "
                "digits and dashes (at most 30)"
            )
    base = {
        "id": name,
        "title": title,
        "prompt": prompt,
        "difficulty": difficulty,
        "phase": phase,
        "topic": topic,
        "tags": tuple(tags),
        "kind": kind,
        "hint": hint,
        "custom": custom,
    }
    if kind is Kind.TASK:
        for field in ("options", "correct", "explanation"):
            if field in entry:
                raise ValueError(f"task '{name}' cannot have '{field}' (only quizzes do)")
        return Challenge(**base)
    options, correct = _options(entry, name)
    explanation = _text(entry, "explanation", name, EXPLANATION_MAX)
    return Challenge(**base, options=options, correct_index=correct, explanation=explanation)


def _text(entry: dict[str, Any], field: str, name: str, limit: int) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"challenge '{name}' needs a non-empty {field}")
    value = value.strip()
    if len(value) > limit:
        raise ValueError(
            f"challenge '{name}': {field} is {len(value)} characters, the limit is {limit}"
        )
    return value


def _enum(entry: dict[str, Any], field: str, enum: type, name: str) -> Any:
    value = entry.get(field)
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValueError(
            f"challenge '{name}': {field} must be one of {allowed} (got {str(value)[:30]!r})"
        ) from None


def _options(entry: dict[str, Any], name: str) -> tuple[tuple[str, ...], int]:
    """Options as strings with `correct` (1-based), or as tables with `correct = true`."""
    raw = entry.get("options")
    if not isinstance(raw, list) or not OPTIONS_MIN <= len(raw) <= OPTIONS_MAX:
        raise ValueError(f"quiz '{name}' needs {OPTIONS_MIN} to {OPTIONS_MAX} options")
    texts: list[str] = []
    flagged: list[int] = []
    for number, option in enumerate(raw, start=1):
        if isinstance(option, dict):
            text, is_correct = option.get("text"), option.get("correct", False)
            if not isinstance(is_correct, bool):
                raise ValueError(f"quiz '{name}': option {number} has a non-true/false correct")
            if is_correct:
                flagged.append(number - 1)
        else:
            text = option
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"quiz '{name}': option {number} is empty")
        if len(text.strip()) > OPTION_MAX:
            raise ValueError(
                f"quiz '{name}': option {number} is {len(text.strip())} characters, "
                f"the limit is {OPTION_MAX} (it becomes a button)"
            )
        texts.append(text.strip())
    if len({t.casefold() for t in texts}) != len(texts):
        raise ValueError(f"quiz '{name}' has two identical options")
    correct = entry.get("correct")
    if flagged and correct is not None:
        raise ValueError(f"quiz '{name}': mark the correct option one way, not both")
    if len(flagged) > 1:
        raise ValueError(f"quiz '{name}' has {len(flagged)} correct options; exactly one is")
    if flagged:
        return tuple(texts), flagged[0]
    if correct is None:
        raise ValueError(f"quiz '{name}' has no correct option")
    if isinstance(correct, bool) or not isinstance(correct, int):
        raise ValueError(f"quiz '{name}': correct must be the number of the right option")
    if not 1 <= correct <= len(texts):
        raise ValueError(
            f"quiz '{name}': correct = {correct}, but it has {len(texts)} options (1-{len(texts)})"
        )
    return tuple(texts), correct - 1
