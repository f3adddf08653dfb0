"""The roadmap as data: phases, tracks and milestones, loaded from TOML or JSON and validated.

Errors name the line they come from: TOML syntax errors carry tomllib's line, JSON syntax
errors `JSONDecodeError.lineno`, and schema errors the line of the offending key.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import DomainError, StartupError

BUILTIN_PATH = Path(__file__).resolve().parents[3] / "content" / "roadmap" / "roadmap.toml"
PLAN_MONTHS = 12

MILESTONE_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
TRACK_KEY = re.compile(r"^[a-z0-9][a-z0-9_]{1,31}$")
PHASE_KEY = MILESTONE_KEY
TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
MAX_PROBLEMS_SHOWN = 8

# Field length limits fit Discord: select options and autocomplete names hold 100 characters.
TEXT_LIMITS = {
    "phase.name": 60,
    "phase.summary": 200,
    "track.name": 40,
    "track.summary": 300,
    "milestone.title": 90,
    "milestone.description": 400,
    "milestone.skill": 60,
}


@dataclass(frozen=True)
class Phase:
    key: str
    number: int
    name: str
    months: int
    first_month: int
    summary: str

    @property
    def last_month(self) -> int:
        return self.first_month + self.months - 1


@dataclass(frozen=True)
class Track:
    key: str
    name: str
    summary: str


@dataclass(frozen=True)
class Milestone:
    key: str
    phase: int
    tracks: tuple[str, ...]
    title: str
    description: str
    skill: str


@dataclass(frozen=True)
class RetiredMilestone:
    """A milestone an earlier version of the roadmap offered, kept for members' history."""

    key: str
    title: str


@dataclass(frozen=True)
class Roadmap:
    phases: tuple[Phase, ...]
    tracks: tuple[Track, ...]
    milestones: tuple[Milestone, ...]
    retired: tuple[RetiredMilestone, ...] = ()
    _by_key: dict[str, Milestone] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key.update({m.key: m for m in self.milestones})

    def track(self, key: str) -> Track | None:
        return next((t for t in self.tracks if t.key == key), None)

    def phase(self, number: int) -> Phase:
        return self.phases[min(max(number, 1), len(self.phases)) - 1]

    def milestone(self, key: str) -> Milestone | None:
        return self._by_key.get(key)

    def offers(self, track: str, key: str) -> bool:
        """Whether members of `track` can tick `key` off (it is live and on their track)."""
        milestone = self._by_key.get(key)
        return milestone is not None and track in milestone.tracks

    def retired_title(self, key: str) -> str | None:
        return next((r.title for r in self.retired if r.key == key), None)

    def fingerprint(self) -> str:
        """A hash of what decides members' progress: phases, and milestones with their tracks
        and titles (titles name a milestone that a later version drops)."""
        shape = {
            "phases": [p.key for p in self.phases],
            "milestones": [[m.key, m.phase, list(m.tracks), m.title] for m in self.milestones],
            "retired": [[r.key, r.title] for r in self.retired],
        }
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()

    def milestones_for(self, track: str) -> tuple[Milestone, ...]:
        """The track's milestones in plan order (by phase, then as written)."""
        return tuple(
            sorted((m for m in self.milestones if track in m.tracks), key=lambda m: m.phase)
        )

    def summary(self) -> str:
        return (
            f"{len(self.tracks)} tracks, {len(self.phases)} phases, "
            f"{len(self.milestones)} milestones"
        )


@dataclass(frozen=True)
class Limits:
    """How many milestones each track may have in each phase."""

    min_per_phase: int
    max_per_phase: int


BUILTIN_LIMITS = Limits(min_per_phase=5, max_per_phase=10)
IMPORT_LIMITS = Limits(min_per_phase=1, max_per_phase=25)


class RoadmapFileError(DomainError):
    """A roadmap file is broken; `problems` are (line or None, message) pairs."""

    def __init__(self, filename: str, problems: list[tuple[int | None, str]]) -> None:
        self.filename = filename
        self.problems = problems
        shown = [f"line {line}: {msg}" if line else msg for line, msg in problems]
        extra = len(shown) - MAX_PROBLEMS_SHOWN
        text = "\n".join(f"- {p}" for p in shown[:MAX_PROBLEMS_SHOWN])
        if extra > 0:
            text += f"\n- ... and {extra} more"
        super().__init__(f"{filename} is not a valid roadmap:\n{text}")


# --- Parsing ----------------------------------------------------------------------------


def parse_document(text: str, filename: str) -> tuple[dict[str, Any], dict[tuple, int]]:
    """Parse TOML or JSON (by extension) into a dict and a map from key path to line."""
    is_json = filename.lower().endswith(".json")
    try:
        document = json.loads(text) if is_json else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise RoadmapFileError(filename, [(exc.lineno, f"invalid JSON: {exc.msg}")]) from None
    except tomllib.TOMLDecodeError as exc:
        match = TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        message = TOML_LINE.sub("", str(exc)).strip()
        raise RoadmapFileError(filename, [(line, f"invalid TOML: {message}")]) from None
    except RecursionError:
        raise RoadmapFileError(filename, [(None, "the file nests too deeply")]) from None
    if not isinstance(document, dict):
        raise RoadmapFileError(filename, [(1, "the top level must be a table/object")])
    try:
        lines = json_key_lines(text) if is_json else toml_key_lines(text)
    except RecursionError:
        lines = {}
    return document, lines


class _LineIndex:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]

    def line_at(self, offset: int) -> int:
        return bisect_right(self.starts, offset)


def json_key_lines(text: str) -> dict[tuple, int]:
    """Line of every key and array element in valid JSON, by path such as ('milestones', 3)."""
    index = _LineIndex(text)
    decoder = json.JSONDecoder()
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    lines: dict[tuple, int] = {}
    whitespace = " \t\r\n"

    def skip(i: int) -> int:
        while i < len(text) and text[i] in whitespace:
            i += 1
        return i

    def value(i: int, path: tuple) -> int:
        i = skip(i)
        lines.setdefault(path, index.line_at(i))
        if text[i] == "{":
            i = skip(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                i = skip(i)
                key, after = scanstring(text, i + 1)
                lines[(*path, key)] = index.line_at(i)
                i = skip(after) + 1  # past ':'
                i = skip(value(i, (*path, key)))
                if text[i] == "}":
                    return i + 1
                i += 1  # past ','
        if text[i] == "[":
            i = skip(i + 1)
            if text[i] == "]":
                return i + 1
            position = 0
            while True:
                i = skip(value(i, (*path, position)))
                position += 1
                if text[i] == "]":
                    return i + 1
                i += 1
        _, end = decoder.raw_decode(text, i)
        return end

    value(0, ())
    return lines


TOML_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]")
TOML_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")
TOML_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


def toml_key_lines(text: str) -> dict[tuple, int]:
    """Line of each key for the roadmap's shape: `[[array]]` tables of `key = value` lines.

    Other shapes (inline tables, dotted keys) fall back to the line of the nearest parent.
    """
    lines: dict[tuple, int] = {}
    counts: dict[str, int] = {}
    prefix: tuple = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if match := TOML_ARRAY_TABLE.match(line):
            name = match.group(1)
            position = counts.get(name, 0)
            counts[name] = position + 1
            prefix = (name, position)
            lines.setdefault((name,), number)
            lines[prefix] = number
        elif match := TOML_TABLE.match(line):
            prefix = tuple(match.group(1).split("."))
            lines[prefix] = number
        elif match := TOML_KEY.match(line):
            key = match.group(1).strip("\"'")
            lines[(*prefix, key)] = number
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_multiline = quote
    return lines


# --- Validation -------------------------------------------------------------------------


class _Problems:
    def __init__(self, lines: dict[tuple, int]) -> None:
        self.lines = lines
        self.items: list[tuple[int | None, str]] = []

    def add(self, path: tuple, message: str) -> None:
        self.items.append((self.line_of(path), message))

    def line_of(self, path: tuple) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def _text(
    problems: _Problems, entry: dict[str, Any], path: tuple, name: str, limit_key: str
) -> str:
    value = entry.get(name)
    label = ".".join(str(p) for p in (*path, name))
    if not isinstance(value, str) or not value.strip():
        problems.add((*path, name), f"{label} must be non-empty text")
        return ""
    limit = TEXT_LIMITS[limit_key]
    if len(value.strip()) > limit:
        problems.add((*path, name), f"{label} is longer than {limit} characters")
    return value.strip()


def _entries(problems: _Problems, document: dict[str, Any], name: str) -> list[tuple]:
    raw = document.get(name, [])
    if not isinstance(raw, list):
        problems.add((name,), f"{name} must be a list of tables")
        return []
    entries = []
    for position, entry in enumerate(raw):
        if not isinstance(entry, dict):
            problems.add((name, position), f"{name}[{position}] must be a table")
            continue
        entries.append(((name, position), entry))
    return entries


def _unknown_keys(
    problems: _Problems, entry: dict[str, Any], path: tuple, allowed: set[str]
) -> None:
    for key in entry:
        if key not in allowed:
            problems.add((*path, key), f"unknown key '{str(key)[:40]}' in {path[0]}")


def _phases(problems: _Problems, document: dict[str, Any]) -> list[Phase]:
    phases: list[Phase] = []
    month = 1
    seen: set[str] = set()
    for path, entry in _entries(problems, document, "phases"):
        _unknown_keys(problems, entry, path, {"key", "name", "months", "summary"})
        key = entry.get("key")
        if not isinstance(key, str) or not PHASE_KEY.match(key):
            problems.add((*path, "key"), "phase key must be lower-case letters, digits, dashes")
            key = f"phase-{len(phases) + 1}"
        elif key in seen:
            problems.add((*path, "key"), f"phase key '{key}' is used twice")
        seen.add(key)
        months = entry.get("months", 3)
        if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 12:
            problems.add((*path, "months"), "months must be a whole number from 1 to 12")
            months = 1
        name = _text(problems, entry, path, "name", "phase.name")
        summary = entry.get("summary", "")
        if not isinstance(summary, str) or len(summary) > TEXT_LIMITS["phase.summary"]:
            problems.add((*path, "summary"), "summary must be text of at most 200 characters")
            summary = ""
        phases.append(Phase(key, len(phases) + 1, name, months, month, summary.strip()))
        month += months
    if phases and month - 1 != PLAN_MONTHS:
        problems.add(("phases",), f"the phases' months add up to {month - 1}, not 12")
    return phases


def _tracks(problems: _Problems, document: dict[str, Any], taken: set[str]) -> list[Track]:
    tracks = []
    for path, entry in _entries(problems, document, "tracks"):
        _unknown_keys(problems, entry, path, {"key", "name", "summary"})
        key = entry.get("key")
        if not isinstance(key, str) or not TRACK_KEY.match(key):
            problems.add(
                (*path, "key"), "track key must be 2-32 lower-case letters, digits, underscores"
            )
            continue
        if key in taken:
            problems.add((*path, "key"), f"track '{key}' is defined twice")
            continue
        taken.add(key)
        name = _text(problems, entry, path, "name", "track.name")
        summary = _text(problems, entry, path, "summary", "track.summary")
        tracks.append(Track(key, name, summary))
    return tracks


def _milestones(
    problems: _Problems,
    document: dict[str, Any],
    phases: list[Phase],
    track_keys: set[str],
    taken: set[str],
) -> list[Milestone]:
    phase_numbers = {p.key: p.number for p in phases}
    milestones = []
    allowed = {"key", "phase", "tracks", "title", "description", "skill"}
    for path, entry in _entries(problems, document, "milestones"):
        _unknown_keys(problems, entry, path, allowed)
        key = entry.get("key")
        if not isinstance(key, str) or not MILESTONE_KEY.match(key):
            problems.add(
                (*path, "key"), "milestone key must be 1-40 lower-case letters, digits, dashes"
            )
            continue
        if key in taken:
            problems.add((*path, "key"), f"milestone '{key}' is defined twice")
            continue
        taken.add(key)
        phase_key = entry.get("phase")
        if phase_key not in phase_numbers:
            known = ", ".join(phase_numbers) or "none"
            problems.add((*path, "phase"), f"milestone '{key}': phase must be one of {known}")
            continue
        tracks = entry.get("tracks")
        if (
            not isinstance(tracks, list)
            or not tracks
            or not all(isinstance(t, str) and t in track_keys for t in tracks)
        ):
            known = ", ".join(sorted(track_keys)) or "none"
            problems.add((*path, "tracks"), f"milestone '{key}': tracks must list some of {known}")
            continue
        title = _text(problems, entry, path, "title", "milestone.title")
        description = _text(problems, entry, path, "description", "milestone.description")
        skill = _text(problems, entry, path, "skill", "milestone.skill")
        milestones.append(
            Milestone(
                key,
                phase_numbers[phase_key],
                tuple(dict.fromkeys(tracks)),
                title,
                description,
                skill,
            )
        )
    return milestones


def _retired(
    problems: _Problems, document: dict[str, Any], live: set[str], taken: set[str]
) -> list[RetiredMilestone]:
    """Milestones an earlier version offered; their keys can't name a live milestone."""
    retired = []
    for path, entry in _entries(problems, document, "retired"):
        _unknown_keys(problems, entry, path, {"key", "title"})
        key = entry.get("key")
        if not isinstance(key, str) or not MILESTONE_KEY.match(key):
            problems.add(
                (*path, "key"), "retired key must be 1-40 lower-case letters, digits, dashes"
            )
            continue
        if key in live:
            problems.add(
                (*path, "key"),
                f"milestone '{key}' is both live and retired: drop one of the two entries",
            )
            continue
        if key in taken:
            problems.add((*path, "key"), f"retired milestone '{key}' is listed twice")
            continue
        taken.add(key)
        title = _text(problems, entry, path, "title", "milestone.title")
        retired.append(RetiredMilestone(key, title))
    return retired


def _check_counts(
    problems: _Problems, roadmap: Roadmap, limits: Limits, tracks_to_check: set[str]
) -> None:
    for track in roadmap.tracks:
        if track.key not in tracks_to_check:
            continue
        for phase in roadmap.phases:
            count = sum(
                1 for m in roadmap.milestones if m.phase == phase.number and track.key in m.tracks
            )
            if not limits.min_per_phase <= count <= limits.max_per_phase:
                problems.add(
                    ("milestones",),
                    f"track '{track.key}' has {count} milestones in phase '{phase.key}'; "
                    f"each phase needs {limits.min_per_phase} to {limits.max_per_phase}",
                )


def build_roadmap(
    document: dict[str, Any],
    lines: dict[tuple, int],
    filename: str,
    limits: Limits,
) -> Roadmap:
    """A complete roadmap from a document that defines phases, tracks and milestones."""
    problems = _Problems(lines)
    _unknown_keys(problems, document, ("top level",), {"phases", "tracks", "milestones", "retired"})
    for name in ("phases", "tracks", "milestones"):
        if not document.get(name):
            problems.add((), f"the file needs at least one entry in {name}")
    phases = _phases(problems, document)
    tracks = _tracks(problems, document, set())
    milestones = _milestones(problems, document, phases, {t.key for t in tracks}, set())
    retired = _retired(problems, document, {m.key for m in milestones}, set())
    roadmap = Roadmap(tuple(phases), tuple(tracks), tuple(milestones), tuple(retired))
    if not problems.items:
        _check_counts(problems, roadmap, limits, {t.key for t in tracks})
    if problems.items:
        raise RoadmapFileError(filename, problems.items)
    return roadmap


def extend_roadmap(
    base: Roadmap,
    document: dict[str, Any],
    lines: dict[tuple, int],
    filename: str,
    limits: Limits,
) -> Roadmap:
    """`base` plus the document's new tracks and milestones; phases stay those of `base`."""
    problems = _Problems(lines)
    _unknown_keys(problems, document, ("top level",), {"tracks", "milestones", "retired"})
    if not document.get("milestones") and not document.get("tracks"):
        problems.add((), "an extension needs tracks or milestones to add")
    new_tracks = _tracks(problems, document, {t.key for t in base.tracks})
    track_keys = {t.key for t in base.tracks} | {t.key for t in new_tracks}
    new_milestones = _milestones(
        problems, document, list(base.phases), track_keys, {m.key for m in base.milestones}
    )
    base_retired = {r.key for r in base.retired}
    raw = document.get("milestones")
    for position, entry in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(entry, dict) and entry.get("key") in base_retired:
            problems.add(
                ("milestones", position, "key"),
                f"milestone '{entry['key']}' is retired from the built-in roadmap: "
                "choose another key",
            )
    live = {m.key for m in base.milestones} | {m.key for m in new_milestones}
    new_retired = _retired(problems, document, live, set(base_retired))
    roadmap = Roadmap(
        base.phases,
        base.tracks + tuple(new_tracks),
        base.milestones + tuple(new_milestones),
        base.retired + tuple(new_retired),
    )
    if not problems.items:
        touched = {t.key for t in new_tracks} | {t for m in new_milestones for t in m.tracks}
        _check_counts(problems, roadmap, limits, touched)
    if problems.items:
        raise RoadmapFileError(filename, problems.items)
    return roadmap


def load_builtin(path: Path = BUILTIN_PATH) -> Roadmap:
    """The shipped roadmap; a broken file stops start-up with the file and line to fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StartupError(f"Cannot read the roadmap {path} ({exc.strerror}).") from None
    try:
        document, lines = parse_document(text, path.name)
        return build_roadmap(document, lines, path.name, BUILTIN_LIMITS)
    except RoadmapFileError as exc:
        raise StartupError(f"{path}: {exc.message}") from None
