"""The shipped roadmap, and server imports with errors that point at the right line."""

from __future__ import annotations

import json
import tomllib

import pytest

from bot.errors import DomainError
from bot.services.roadmap.catalog import ImportMode
from bot.services.roadmap.content import (
    BUILTIN_PATH,
    RoadmapFileError,
    load_builtin,
)
from bot.wiring import Services, validate_content

G, MOD = 1, 99


def test_builtin_roadmap_is_valid_and_shaped_as_the_issue_asks() -> None:
    roadmap = load_builtin()
    assert [p.name for p in roadmap.phases] == [
        "Foundations",
        "Machine Learning Core",
        "Deep Learning and LLMs",
        "Production and Specialisation",
    ]
    assert all(p.months == 3 for p in roadmap.phases)
    assert {t.key for t in roadmap.tracks} == {"ai_engineer", "ml_engineer"}
    for track in roadmap.tracks:
        for phase in roadmap.phases:
            mine = [m for m in roadmap.milestones_for(track.key) if m.phase == phase.number]
            assert 5 <= len(mine) <= 10, (track.key, phase.key)
            assert all(m.description and m.skill for m in mine)
    ai = {m.key for m in roadmap.milestones_for("ai_engineer")}
    ml = {m.key for m in roadmap.milestones_for("ml_engineer")}
    foundations = {m.key for m in roadmap.milestones if m.phase == 1}
    assert foundations <= ai & ml
    assert f"roadmap: {roadmap.summary()}" in validate_content()


# Every step of the source's 12-month plan, as the milestone that covers it, by phase.
SEED_PLAN = {
    1: {"python-core", "python-oop", "data-structures-algorithms", "statistics-refresher",
        "linear-algebra"},
    2: {"supervised-unsupervised", "evaluation-cross-validation", "linear-regression-scratch",
        "ml-project-sklearn", "loss-backprop-math"},
    3: {"first-neural-network", "cnn-rnn-transformer", "llm-api-basics", "prompt-patterns",
        "rag-app", "agent-framework", "deploy-llm-app"},
    4: {"docker-app", "kubernetes-deploy", "ci-cd-ml", "monitoring-versioning",
        "choose-specialisation", "open-source-contribution", "start-applying"},
}  # fmt: skip


def test_both_tracks_cover_the_whole_plan_and_differ_only_in_emphasis() -> None:
    roadmap = load_builtin()
    tracks = {t.key: roadmap.milestones_for(t.key) for t in roadmap.tracks}
    for track, milestones in tracks.items():
        for phase, steps in SEED_PLAN.items():
            mine = {m.key for m in milestones if m.phase == phase}
            assert steps <= mine, (track, phase, steps - mine)
        capstones = [m.key for m in milestones if m.key.startswith("capstone-")]
        assert len(capstones) == 1, track  # a capstone in the chosen specialisation
    ai = {m.key for m in tracks["ai_engineer"]}
    ml = {m.key for m in tracks["ml_engineer"]}
    assert {"ml-for-builders", "speech-and-data-app", "capstone-product"} <= ai - ml
    assert {"feature-engineering", "hyperparameter-tuning", "fine-tune-model"} <= ml - ai
    # What the tracks don't share is extra depth, never a step of the plan.
    assert not (ai ^ ml) & set().union(*SEED_PLAN.values())
    assert {r.key for r in roadmap.retired} == {"llm-integration-basics"}
    assert all(roadmap.milestone(r.key) is None for r in roadmap.retired)


def _builtin_text() -> str:
    return BUILTIN_PATH.read_text(encoding="utf-8")


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(needle)


async def _import(services: Services, name: str, text: str, mode: str = "replace") -> object:
    return await services.roadmap.catalog.import_file(
        G, MOD, name, text.encode("utf-8"), ImportMode(mode)
    )


async def test_toml_syntax_error_names_tomllibs_line(services: Services) -> None:
    text = _builtin_text().replace(
        'months = 3\nsummary = "How models', 'months = = 3\nsummary = "How models'
    )
    with pytest.raises(RoadmapFileError) as caught:
        await _import(services, "mine.toml", text)
    assert caught.value.problems[0][0] == _line_of(text, "months = = 3")
    assert "line" in caught.value.message and "invalid TOML" in caught.value.message


async def test_toml_schema_error_names_the_offending_key(services: Services) -> None:
    text = _builtin_text().replace('phase = "ml-core"', 'phase = "ml-kore"', 1)
    with pytest.raises(RoadmapFileError) as caught:
        await _import(services, "mine.toml", text)
    (line, message) = caught.value.problems[0]
    assert line == _line_of(text, 'phase = "ml-kore"')
    assert "linear-regression-scratch" in message


async def test_json_syntax_error_names_its_line(services: Services) -> None:
    document = tomllib.loads(_builtin_text())
    text = json.dumps(document, indent=2).replace('"months": 3,', '"months": 3,,', 1)
    with pytest.raises(RoadmapFileError) as caught:
        await _import(services, "mine.json", text)
    assert caught.value.problems[0][0] == _line_of(text, '"months": 3,,')


async def test_json_schema_error_names_the_offending_key(services: Services) -> None:
    document = tomllib.loads(_builtin_text())
    document["milestones"][5]["tracks"] = ["ai_engineer", "astronaut"]
    document["milestones"][9]["title"] = "x" * 200
    text = json.dumps(document, indent=2)
    with pytest.raises(RoadmapFileError) as caught:
        await _import(services, "mine.json", text)
    problems = dict(caught.value.problems)
    tracks_line = _line_of(text, '"tracks": [', occurrence=7)  # the top-level list, then 6th
    assert "tracks must list some of" in problems[tracks_line]
    assert "longer than 90" in problems[_line_of(text, '"title": "xxxx')]


async def test_a_valid_replacement_is_used_by_this_server_only(services: Services) -> None:
    document = {
        "phases": [{"key": "all-year", "name": "All year", "months": 12}],
        "tracks": [{"key": "data_eng", "name": "Data Engineer", "summary": "Pipelines."}],
        "milestones": [
            {
                "key": "first-pipeline",
                "phase": "all-year",
                "tracks": ["data_eng"],
                "title": "Build a pipeline",
                "description": "Move data from A to B.",
                "skill": "Pipelines",
            }
        ],
    }
    result = await _import(services, "ours.json", json.dumps(document))
    assert result.roadmap.summary() == "1 tracks, 1 phases, 1 milestones"  # type: ignore[attr-defined]
    assert (await services.roadmap.catalog.get(G)).track("data_eng") is not None
    assert (await services.roadmap.catalog.get(2)).track("data_eng") is None
    await services.roadmap.members.start(G, 5, "data_eng")
    with pytest.raises(DomainError, match="data_eng"):
        await services.roadmap.catalog.import_file(G, MOD, "", None, ImportMode.BUILTIN)


async def test_replacing_refuses_to_drop_a_track_members_follow(services: Services) -> None:
    await services.roadmap.members.start(G, 5, "ml_engineer")
    document = tomllib.loads(_builtin_text())
    document["tracks"] = [t for t in document["tracks"] if t["key"] == "ai_engineer"]
    document["milestones"] = [
        {**m, "tracks": ["ai_engineer"]}
        for m in document["milestones"]
        if "ai_engineer" in m["tracks"]
    ]
    with pytest.raises(DomainError, match="ml_engineer"):
        await _import(services, "ai-only.json", json.dumps(document))
    assert await services.db.fetch_value("SELECT count(*) FROM roadmap_custom") == 0


async def test_extend_adds_milestones_behind_a_member_without_moving_them_back(
    services: Services,
) -> None:
    await services.roadmap.members.start(G, 5, "ai_engineer")
    for milestone in (await services.roadmap.catalog.get(G)).milestones_for("ai_engineer")[:7]:
        await services.roadmap.members.set_milestone(G, 5, milestone.key)
    assert (await services.roadmap.members.view(G, 5)).phase == 2
    extension = (
        '[[milestones]]\nkey = "discord-bot"\nphase = "foundations"\ntracks = ["ai_engineer"]\n'
        'title = "Write a Discord bot"\ndescription = "A small one."\nskill = "Python"\n'
    )
    result = await _import(services, "extra.toml", extension, "extend")
    assert result.members_moved == 0  # type: ignore[attr-defined]
    view = await services.roadmap.members.view(G, 5)
    assert view.phase == 2 and (view.progress[0].done, view.progress[0].total) == (7, 8)
    assert "discord-bot" in {m.key for m in view.next_up}
    clash = extension.replace("discord-bot", "python-core")
    with pytest.raises(RoadmapFileError, match="line 2: milestone 'python-core' is defined twice"):
        await _import(services, "extra.toml", clash, "extend")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("roadmap.exe", b"x", "Attach a .toml or .json"),
        ("big.toml", b"#" * 300_000, "larger than"),
        ("bad.toml", b"a = 1\n\xff\xfe", "line 2: the file is not UTF-8"),
        ("list.json", b"[1, 2]", "top level"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
        ("empty.toml", b"", "at least one entry in phases"),
    ],
)
async def test_hostile_files_are_refused(
    services: Services, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        await services.roadmap.catalog.import_file(G, MOD, name, data, ImportMode.REPLACE)
    assert await services.db.fetch_value("SELECT count(*) FROM roadmap_custom") == 0
