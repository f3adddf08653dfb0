"""A live server on an older roadmap updates: progress kept, milestones matched by key,
dropped ones archived (in the member's history, no longer offered), phases re-derived.

Each test runs the previous release's built-in roadmap (tests/data/roadmap_previous.toml)
on a real database file, closes it, and starts again on the same file with today's.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import open_database
from bot.errors import NotFound
from bot.services.roadmap import catalog as catalog_module
from bot.services.roadmap.catalog import ImportMode
from bot.services.roadmap.content import BUILTIN_PATH, RoadmapFileError, load_builtin
from bot.wiring import Services, build_services

PREVIOUS = load_builtin(Path(__file__).parent / "data" / "roadmap_previous.toml")
G, OTHER, MOD = 1, 2, 99
ALICE, BOB, CAROL = 10, 11, 12  # ML Engineer, AI Engineer, ML Engineer on another server
RETIRED = "llm-integration-basics"
RETIRED_TITLE = "Use an LLM API and a small RAG pipeline once"
EXTENSION = (
    '[[milestones]]\nkey = "discord-bot"\nphase = "production"\ntracks = ["ml_engineer"]\n'
    'title = "Write a Discord bot"\ndescription = "A small one."\nskill = "Python"\n'
)


@asynccontextmanager
async def running(settings: Settings, clock: FixedClock) -> AsyncIterator[Services]:
    """One process on the database file: open it, build the services, sync content, close."""
    db = await open_database(settings.database_path)
    try:
        services = build_services(settings, db, clock)
        await services.roadmap.catalog.sync_members()
        yield services
    finally:
        await db.close()


async def tick_all(services: Services, guild: int, user: int, track: str, phases: set[int]):
    roadmap = await services.roadmap.catalog.get(guild)
    for milestone in roadmap.milestones_for(track):
        if milestone.phase in phases:
            await services.roadmap.members.set_milestone(guild, user, milestone.key)


async def old_server(settings: Settings, clock: FixedClock, monkeypatch) -> None:
    """Members' progress on the previous roadmap, written by the services as they run."""
    monkeypatch.setattr(catalog_module, "load_builtin", lambda: PREVIOUS)
    async with running(settings, clock) as services:
        await write_progress(services, clock)
    monkeypatch.undo()


async def write_progress(services: Services, clock: FixedClock) -> None:
    members = services.roadmap.members
    await members.start(G, ALICE, "ml_engineer", start_date="2025-05-01")
    await members.start(G, BOB, "ai_engineer", start_date="2025-09-01")
    await members.start(OTHER, CAROL, "ml_engineer", start_date="2025-06-01")
    await services.roadmap.catalog.import_file(
        OTHER, MOD, "extra.toml", EXTENSION.encode(), ImportMode.EXTEND
    )
    await tick_all(services, G, ALICE, "ml_engineer", {1, 2, 3})
    for key in ("docker-app", "capstone-model"):
        await members.set_milestone(G, ALICE, key)
    await tick_all(services, G, BOB, "ai_engineer", {1})
    for key in ("rag-app", "kubernetes-deploy"):
        await members.set_milestone(G, BOB, key)
    for key in (RETIRED, "discord-bot", "python-core"):
        await members.set_milestone(OTHER, CAROL, key)
    for day in range(3):
        for guild, user in ((G, ALICE), (G, BOB), (OTHER, CAROL)):
            await services.roadmap.checkins.checkin(guild, user, f"day {day}", "30")
        clock.advance(days=1)
    assert (await members.view(G, ALICE)).phase == 4  # phases 1-3 of the old ML track done


async def progress(services: Services) -> dict[str, list]:
    """Everything a member has earned: ticks with their dates, streaks, totals, counters."""
    return {
        "ticks": [
            tuple(r)
            for r in await services.db.fetch_all(
                "SELECT guild_id, user_id, milestone, done_at, done_on FROM roadmap_milestones "
                "ORDER BY guild_id, user_id, milestone"
            )
        ],
        "members": [
            tuple(r)
            for r in await services.db.fetch_all(
                "SELECT guild_id, user_id, current_streak, best_streak, checkins_total, "
                "checkin_days, minutes_total, milestones_done FROM roadmap_members "
                "ORDER BY guild_id, user_id"
            )
        ],
        "periods": [
            tuple(r)
            for r in await services.db.fetch_all(
                "SELECT * FROM roadmap_period_stats ORDER BY guild_id, user_id, period"
            )
        ],
        "checkins": [
            tuple(r) for r in await services.db.fetch_all("SELECT * FROM roadmap_checkins")
        ],
    }


@pytest.mark.parametrize("from_previous_schema", [False, True])
async def test_an_update_keeps_every_members_progress_and_archives_what_was_dropped(
    settings: Settings, clock: FixedClock, monkeypatch, from_previous_schema: bool
) -> None:
    await old_server(settings, clock, monkeypatch)
    db = await open_database(settings.database_path)
    try:
        if from_previous_schema:
            # What migration 0011 leaves on a database of the previous release: no titles
            # recorded with the ticks, and no server reconciled with any roadmap yet.
            await db.execute("UPDATE roadmap_milestones SET title = NULL")
            await db.execute("DELETE FROM roadmap_content_state")
        before = await progress(build_services(settings, db, clock))
    finally:
        await db.close()
    async with running(settings, clock) as services:  # the new built-in roadmap
        await check_updated(services, before)


async def check_updated(services: Services, before: dict[str, list]) -> None:
    assert await progress(services) == before  # nothing ticked, counted or streaked is lost
    archived = await services.db.fetch_all(
        "SELECT guild_id, user_id, milestone, title FROM roadmap_milestones "
        "WHERE archived_at IS NOT NULL ORDER BY guild_id"
    )
    assert [tuple(r) for r in archived] == [
        (G, ALICE, RETIRED, RETIRED_TITLE),
        (OTHER, CAROL, RETIRED, RETIRED_TITLE),
    ]

    members = services.roadmap.members
    alice = await members.view(G, ALICE)
    assert [(m.key, m.title) for m in alice.archived] == [(RETIRED, RETIRED_TITLE)]
    # The ML track now has the whole LLM block of phase 3: open work behind her, and she
    # keeps the phase she reached.
    assert alice.phase == 4 and [p.total for p in alice.progress] == [7, 8, 10, 10]
    assert [p.done for p in alice.progress] == [7, 8, 5, 2]
    assert "llm-api-basics" in {m.key for m in alice.next_up}
    assert RETIRED not in {key for _, key in await members.milestone_choices(G, ALICE, "")}
    with pytest.raises(NotFound, match="no milestone"):
        await members.set_milestone(G, ALICE, RETIRED)
    stored = await services.db.fetch_one(
        "SELECT phase, phase_floor FROM roadmap_members WHERE user_id = ?", (ALICE,)
    )
    assert tuple(stored) == (4, 4)  # the phase she reached is her floor

    bob = await members.view(G, BOB)  # the AI track lost nothing, so nothing moves
    assert bob.archived == () and bob.phase == 2 and bob.progress[3].done == 1
    carol = await members.view(OTHER, CAROL)  # the server's extension still applies
    assert [m.key for m in carol.archived] == [RETIRED]
    assert {m.key for m in carol.done_recently} == {"discord-bot", "python-core"}

    report = await services.roadmap.maintenance.recompute(fix=False)
    assert report.differences == ()  # totals, counters and phases agree with the history
    assert (await services.roadmap.catalog.sync_members()).servers == 0  # once, not again


class FakeRoles:
    """Discord's side of the role sync: which roles each member holds."""

    def __init__(self) -> None:
        self.held: dict[int, set[int]] = {ALICE: set(), BOB: set(), CAROL: set()}
        self.removed: list[tuple[int, int]] = []

    def ready(self, guild_id: int) -> bool:
        return True

    def dangerous_now(self, guild_id: int, role_ids: set[int]) -> set[int]:
        return set()

    async def is_dangerous(self, guild_id: int, role_id: int) -> bool:
        return False

    async def member_roles(self, guild_id: int, user_id: int) -> set[int]:
        return set(self.held[user_id])

    async def add(self, guild_id: int, user_id: int, role_id: int) -> None:
        self.held[user_id].add(role_id)

    async def remove(self, guild_id: int, user_id: int, role_id: int) -> None:
        self.removed.append((user_id, role_id))
        self.held[user_id].discard(role_id)


PHASE_3_ROLE, PHASE_4_ROLE = 7003, 7004


async def test_a_content_update_never_moves_a_member_back_a_phase_nor_takes_her_role(
    settings: Settings, clock: FixedClock, monkeypatch
) -> None:
    """Alice finished phases 1-3 of the old ML track and holds the phase 4 role. The update
    adds milestones to phase 3: she keeps phase 4 and its role, whatever she ticks next,
    and still moves on when she finishes."""
    roles = FakeRoles()
    monkeypatch.setattr(catalog_module, "load_builtin", lambda: PREVIOUS)
    async with running(settings, clock) as services:
        await write_progress(services, clock)
        for phase, role in ((3, PHASE_3_ROLE), (4, PHASE_4_ROLE)):
            await services.roadmap.roles.set_mapping(G, "phase", phase, role)
        await services.roadmap.role_sync.run(clock.now(), roles)
    monkeypatch.undo()
    assert roles.held[ALICE] == {PHASE_4_ROLE}

    async with running(settings, clock) as services:  # the new built-in roadmap
        members = services.roadmap.members
        assert (await members.view(G, ALICE)).phase == 4
        await members.set_milestone(G, ALICE, "llm-api-basics")  # new work behind her
        await members.set_milestone(G, ALICE, "python-core", done=False)  # an undo
        await services.roadmap.checkins.checkin(
            G, ALICE, "prompting", "30", milestone="prompt-patterns"
        )
        alice = await members.view(G, ALICE)
        assert alice.phase == 4 and alice.progress[2].done == 7
        await services.roadmap.role_sync.run(clock.now(), roles)
        assert roles.held[ALICE] == {PHASE_4_ROLE} and roles.removed == []
        report = await services.roadmap.maintenance.recompute(fix=False)
        assert report.differences == ()  # a recompute from history keeps the floor too

        await tick_all(services, G, ALICE, "ml_engineer", {1, 2, 3, 4})
        assert (await members.view(G, ALICE)).finished  # the floor never holds her back


async def test_milestones_are_matched_by_key_and_come_back_when_the_content_does(
    services: Services,
) -> None:
    await services.roadmap.catalog.sync_members()
    await services.roadmap.members.start(G, ALICE, "ml_engineer")
    await services.roadmap.members.set_milestone(G, ALICE, "python-core")
    document = tomllib.loads(BUILTIN_PATH.read_text(encoding="utf-8"))
    renamed = next(m for m in document["milestones"] if m["key"] == "python-core")
    renamed["title"] = "Write everyday Python fluently"
    renamed["description"] = "Reworded, same step."
    imported = await services.roadmap.catalog.import_file(
        G, MOD, "ours.json", json.dumps(document).encode(), ImportMode.REPLACE
    )
    assert imported.milestones_archived == 0
    view = await services.roadmap.members.view(G, ALICE)
    assert [m.title for m in view.done_recently] == ["Write everyday Python fluently"]

    document["milestones"] = [m for m in document["milestones"] if m["key"] != "python-core"]
    document["milestones"][0]["tracks"] = ["ai_engineer", "ml_engineer"]  # keep 5+ a phase
    dropped = await services.roadmap.catalog.import_file(
        G, MOD, "ours.json", json.dumps(document).encode(), ImportMode.REPLACE
    )
    assert dropped.milestones_archived == 1
    view = await services.roadmap.members.view(G, ALICE)
    assert [m.title for m in view.archived] == ["Write everyday Python fluently"]
    assert view.progress[0].done == 0

    back = await services.roadmap.catalog.import_file(G, MOD, "", None, ImportMode.BUILTIN)
    assert back.milestones_archived == 0
    view = await services.roadmap.members.view(G, ALICE)
    assert view.archived == () and view.progress[0].done == 1
    assert [m.title for m in view.done_recently] == ["Write Python without reaching for the docs"]

    await services.roadmap.delete_guild(G)  # the server's data goes, its sync record too
    assert await services.db.fetch_value("SELECT count(*) FROM roadmap_content_state") == 0


@pytest.mark.parametrize(
    ("document", "mode", "message"),
    [
        (
            {"milestones": [{"key": RETIRED, "phase": "production", "tracks": ["ml_engineer"],
                             "title": "Again", "description": "Reuse.", "skill": "x"}]},
            ImportMode.EXTEND,
            f"milestone '{RETIRED}' is retired from the built-in roadmap",
        ),
        (
            {"retired": [{"key": "python-core", "title": "Old"}]},
            ImportMode.EXTEND,
            "'python-core' is both live and retired",
        ),
        (
            {"retired": [{"key": "gone", "title": "Old", "colour": "red"}]},
            ImportMode.EXTEND,
            "unknown key 'colour' in retired",
        ),
    ],
)  # fmt: skip
async def test_retired_keys_are_checked(
    services: Services, document: dict, mode: ImportMode, message: str
) -> None:
    if "retired" in document:
        document["milestones"] = []
        document["tracks"] = [{"key": "extra", "name": "Extra", "summary": "More."}]
    text = json.dumps(document, indent=2)
    with pytest.raises(RoadmapFileError, match=message) as caught:
        await services.roadmap.catalog.import_file(G, MOD, "x.json", text.encode(), mode)
    assert caught.value.problems[0][0] is not None  # the line is named


async def test_each_shard_process_reconciles_its_own_servers_only(
    settings: Settings, clock: FixedClock, monkeypatch
) -> None:
    """In a shard cluster every process starts at once: each updates its own servers."""
    await old_server(settings, clock, monkeypatch)
    assert (G >> 22) % 2 == 0 and (OTHER >> 22) % 2 == 0  # both servers are on shard 0
    other_half = settings.model_copy(update={"shard_count": 2, "shard_ids": "1"})
    async with running(other_half, clock) as services:
        carol = await services.roadmap.members.view(OTHER, CAROL)
        assert carol.archived == ()  # not this process's server: left as it was
    our_half = settings.model_copy(update={"shard_count": 2, "shard_ids": "0"})
    db = await open_database(settings.database_path)
    try:
        services = build_services(our_half, db, clock)
        assert (await services.roadmap.catalog.sync_members()).servers == 2
        carol = await services.roadmap.members.view(OTHER, CAROL)
        assert [m.key for m in carol.archived] == [RETIRED]
    finally:
        await db.close()
