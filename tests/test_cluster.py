"""A shard cluster from one process's side: it does the scheduled work of its own servers
only, and the work that is not per server runs where the global-work lock is held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.db import Database, connect
from bot.db.url import PostgresTarget
from bot.scheduler import Scheduler
from bot.services.challenges.daily import DAILY_KIND
from bot.services.cluster import ClusterConflict, ClusterService
from bot.services.guild_settings import ChannelKind
from bot.services.scheduled_posts import PostKey, ScheduledPosts, plan
from bot.shards import ShardScope
from bot.wiring import build_services
from simulator import Simulator
from simulator.harness import SimHarness
from simulator.state import SimGuild
from tests.bot_cli import Result, one_line
from tests.conftest import ON_POSTGRES
from tests.test_shards import guild_on

needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="runs with TEST_DATABASE=postgres")


def shard_of(guild: SimGuild, count: int = 2) -> int:
    return (guild.id >> 22) % count


@pytest.fixture
async def two_shards_of_guilds() -> AsyncIterator[Simulator]:
    """A simulated Discord with two servers on shard 0 and two on shard 1 (of 2)."""
    server = Simulator()
    await server.start()
    made: dict[int, int] = {0: 0, 1: 0}
    deadline = time.monotonic() + 5
    while min(made.values()) < 2:
        assert time.monotonic() < deadline, "could not make servers on both shards"
        # Server ids are snowflakes of the current millisecond, so the shard follows the
        # clock. The first server must be on shard 0: the harness waits for it.
        guild = server.add_community_guild(f"Server {sum(made.values())}")
        shard = shard_of(guild)
        if made[shard] == 2 or (shard != 0 and not any(made.values())):
            del server.state.guilds[guild.id]
        else:
            made[shard] += 1
        await asyncio.sleep(0.002)
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def settings(db_settings: dict[str, Any]) -> Settings:
    # Built directly: `run` and `check` refuse part of the shards on SQLite (one process per
    # file); one process with shard 0 of 2 is what this test needs on either engine.
    return Settings(_env_file=None, **db_settings, shard_count=2, shard_ids="0")


async def test_a_process_posts_the_daily_challenge_of_its_own_servers_only(
    settings: Settings, clock: FixedClock, two_shards_of_guilds: Simulator
) -> None:
    server = two_shards_of_guilds
    sim = await SimHarness.start(settings, clock, server)
    try:
        assert sim.bot.shard_ids == [0] and sim.bot.shard_count == 2
        guilds = list(server.state.guilds.values())
        for guild in guilds:
            channel = guild.channel("challenges")
            await sim.services.guild_settings.set_channel(guild.id, ChannelKind.CHALLENGE, channel)
        await sim.run_scheduler()
        posted = {
            guild.id: len(
                [m for m in sim.messages(guild.channel("challenges")) if m.embeds and m.embeds[0]]
            )
            for guild in guilds
        }
        assert {g.id: posted[g.id] for g in guilds if shard_of(g) == 0} == {
            g.id: 1 for g in guilds if shard_of(g) == 0
        }
        assert {g.id: posted[g.id] for g in guilds if shard_of(g) == 1} == {
            g.id: 0 for g in guilds if shard_of(g) == 1
        }
        # ...and the other shard's servers are left to their own process, unclaimed.
        due = await sim.services.challenges.daily.due(clock.now())
        assert due == []
        for guild in guilds:
            left = await sim.services.scheduled_posts.is_open(guild.id, DAILY_KIND, "2026-03-02")
            assert left == (shard_of(guild) == 1)
    finally:
        problems = await sim.close()
    assert not problems


async def test_retries_of_scheduled_posts_are_picked_by_shard(
    db: Database, clock: FixedClock
) -> None:
    mine, theirs = guild_on(0, 2), guild_on(1, 2)
    async with db.transaction() as tx:
        for guild_id in (mine, theirs):
            await plan(tx, PostKey(guild_id, "portfolio:returned", "7"), clock.now())
    kinds = ("portfolio:returned",)
    first = ScheduledPosts(db, clock, shards=ShardScope(2, (0,)))
    second = ScheduledPosts(db, clock, shards=ShardScope(2, (1,)))
    alone = ScheduledPosts(db, clock)
    assert [k.guild_id for k in await first.due(kinds, clock.now(), 10)] == [mine]
    assert [k.guild_id for k in await second.due(kinds, clock.now(), 10)] == [theirs]
    assert sorted(k.guild_id for k in await alone.due(kinds, clock.now(), 10)) == sorted(
        [mine, theirs]
    )


class Counter:
    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self, now: datetime) -> None:
        self.runs += 1


async def test_cluster_jobs_run_only_while_the_global_work_lock_is_held(
    clock: FixedClock,
) -> None:
    held = True

    async def global_work() -> bool:
        return held

    scheduler = Scheduler(clock, global_work=global_work)
    per_server, cluster = Counter(), Counter()
    scheduler.add_job("per-server", per_server)
    scheduler.add_job("cluster", cluster, cluster=True)
    await scheduler.run_once()
    held = False
    await scheduler.run_once()
    assert (per_server.runs, cluster.runs) == (2, 1)
    assert scheduler.holds_global_work is False
    scheduler.remove_job("cluster")
    held = True
    await scheduler.run_once()
    assert (per_server.runs, cluster.runs) == (3, 1)


async def test_one_process_alone_always_holds_the_global_work(db: Database) -> None:
    """SQLite serves one process; on PostgreSQL the first holder keeps its lock."""
    assert await db.hold("global-work")
    assert await db.hold("global-work")


@pytest.fixture
async def second_process_db(database_url: str | None) -> AsyncIterator[Database]:
    """The same PostgreSQL database as `db`, opened again as another process would."""
    assert database_url is not None
    other = await connect(PostgresTarget(database_url), pool_size=2)
    yield other
    await other.close()


@needs_postgres
async def test_only_one_process_holds_the_global_work_until_its_connection_closes(
    db: Database, second_process_db: Database, clock: FixedClock
) -> None:
    first = Scheduler(clock, global_work=lambda: db.hold("global-work"))
    second = Scheduler(clock, global_work=lambda: second_process_db.hold("global-work"))
    ran = {"first": Counter(), "second": Counter()}
    first.add_job("purge", ran["first"], cluster=True)
    second.add_job("purge", ran["second"], cluster=True)
    for _ in range(3):
        await first.run_once()
        await second.run_once()
    assert (ran["first"].runs, ran["second"].runs) == (3, 0)
    await db.close()  # the first process ends: its lock goes with its connection
    await second.run_once()
    assert ran["second"].runs == 1 and second.holds_global_work


@needs_postgres
async def test_a_killed_lock_connection_hands_the_work_over_at_the_next_tick(
    db: Database, second_process_db: Database
) -> None:
    assert await db.hold("global-work")
    assert not await second_process_db.hold("global-work")
    # The holder's connection dies as if its process were killed (or its network cut).
    await second_process_db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_locks "
        "WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
    )
    assert await second_process_db.hold("global-work")
    assert not await db.hold("global-work")  # it noticed, and the other has it now


@needs_postgres
async def test_exclusive_blocks_run_one_after_the_other(
    db: Database, second_process_db: Database
) -> None:
    inside: list[str] = []

    async def block(database: Database, name: str) -> None:
        async with database.exclusively("command-sync"):
            inside.append(f"{name} in")
            await asyncio.sleep(0.2)
            inside.append(f"{name} out")

    await asyncio.gather(block(db, "a"), block(second_process_db, "b"))
    assert inside in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])


# --- Heartbeats: who runs which shards ---------------------------------------------------


def process(
    db: Database, clock: FixedClock, count: int | None, ids: str | None, pid: int
) -> ClusterService:
    """A process's view of the cluster: its own settings, its own pid."""
    settings = Settings(_env_file=None, shard_count=count, shard_ids=ids)
    cluster = ClusterService(db, clock, settings)
    cluster.pid = pid
    return cluster


@pytest.fixture
async def own_database(database_url: str | None) -> AsyncIterator[Callable[[], Any]]:
    """Each call: the test's PostgreSQL database opened again, as another process has it."""
    opened: list[Database] = []

    async def open_one() -> Database:
        assert database_url is not None
        opened.append(await connect(PostgresTarget(database_url), pool_size=1))
        return opened[-1]

    yield open_one
    for database in opened:
        await database.close()


@needs_postgres
async def test_a_running_process_keeps_its_shards_from_a_second_one(
    own_database: Callable[[], Any], clock: FixedClock
) -> None:
    first = process(await own_database(), clock, 4, "0-1", pid=100)
    await first.join()
    with pytest.raises(ClusterConflict) as refused:
        await process(await own_database(), clock, 4, "1-2", pid=200).join()
    assert str(refused.value).startswith("shard 1 is already run by the live process on ")
    assert "(pid 100) (shards 0-1 of 4)" in str(refused.value)
    with pytest.raises(ClusterConflict, match="SHARD_COUNT=2 differs from SHARD_COUNT=4"):
        await process(await own_database(), clock, 2, "1", pid=300).join()
    with pytest.raises(ClusterConflict, match="without SHARD_COUNT this process runs every"):
        await process(await own_database(), clock, None, None, pid=400).join()
    await process(await own_database(), clock, 4, "2-3", pid=500).join()  # the other half
    assert [p.pid for p in await first.processes()] == [100, 500]
    clock.advance(minutes=5)  # silent (hung?) but its session is open: still refused
    with pytest.raises(ClusterConflict):
        await process(await own_database(), clock, 4, "0", pid=600).join()


@needs_postgres
async def test_the_shards_of_a_killed_or_stopped_process_are_free_at_once(
    own_database: Callable[[], Any], clock: FixedClock
) -> None:
    killed_db = await own_database()
    await process(killed_db, clock, 2, "0", pid=100).join()
    await killed_db.close()  # killed: its connection closes with it, no goodbye
    await process(await own_database(), clock, 2, "0", pid=200).join()
    stopped = process(await own_database(), clock, 2, "1", pid=300)
    await stopped.join()
    await stopped.leave()  # a clean stop removes its row
    assert 300 not in [p.pid for p in await stopped.processes()]
    await process(await own_database(), clock, 2, "1", pid=301).join()


async def test_a_restarted_container_replaces_its_own_row(db: Database, clock: FixedClock) -> None:
    """Same host, same pid (pid 1 in a container): the old row is this process's past."""
    await process(db, clock, 2, "0", pid=1).join()
    again = process(db, clock, 2, "0", pid=1)
    await again.join()
    assert [p.process_id for p in await again.processes()] == [again.process_id]


async def test_beats_keep_a_process_alive_and_day_old_rows_are_forgotten(
    db: Database, clock: FixedClock
) -> None:
    old = process(db, clock, 2, "0", pid=100)
    await old.join()
    clock.advance(hours=25)
    fresh = process(db, clock, 2, "0", pid=200)
    await fresh.join(refuse_conflicts=False)
    assert [p.pid for p in await fresh.processes()] == [100, 200]
    clock.advance(seconds=25)  # 2.5 beats of 10 s: still alive
    (_, row) = await fresh.processes()
    assert fresh.alive(row)
    await fresh.beat()
    (row,) = await fresh.processes()
    assert row.pid == 200 and row.last_beat == clock.now() and fresh.alive(row)
    clock.advance(seconds=31)
    assert not fresh.alive((await fresh.processes())[0])


@pytest.fixture
def database_env(db_settings: dict[str, Any], db: Database) -> dict[str, str]:
    """The test's (migrated) database, as the operator's environment names it."""
    if "database_url" in db_settings:
        return {"DATABASE_URL": db_settings["database_url"]}
    return {"DATABASE_PATH": str(db_settings["database_path"])}


async def test_status_lists_the_processes_or_says_there_are_none(
    bot_cli: Callable[..., Result], database_env: dict[str, str], db: Database
) -> None:
    result = await asyncio.to_thread(bot_cli, "status", **database_env)
    assert result.returncode == 0, result.stderr
    assert "No bot process has recorded a heartbeat" in result.stdout
    assert "none is running" in result.stdout
    clock = FixedClock(datetime.now(UTC))
    await process(db, clock, 4, "0-1", pid=100).join()
    await process(db, clock, 4, "2-3", pid=200).join()
    clock.advance(minutes=-10)
    await process(db, clock, None, None, pid=300).join(refuse_conflicts=False)
    result = await asyncio.to_thread(bot_cli, "status", **database_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "2 of 3 process(es) seen in the last day are alive:"
    assert "(pid 100): shards 0-1 of 4, last beat " in lines[1] and "alive" in lines[1]
    assert "(pid 200): shards 2-3 of 4" in lines[2]
    assert "(pid 300): all shards (SHARD_COUNT not set), last beat 10 min ago, gone" in lines[3]


def test_status_without_a_database_creates_none(bot_cli: Callable[..., Result]) -> None:
    nowhere = bot_cli("status", DATABASE_PATH="none/yet.db")
    assert nowhere.stdout.strip() == "No database at none/yet.db yet: no bot process has run."
    assert nowhere.returncode == 0 and not Path("none").exists()


@needs_postgres
@pytest.mark.parametrize("command", ["run", "check"])
@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SHARD_COUNT": "4", "SHARD_IDS": "1"}, "shard 1 is already run by the live process"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1"}, "SHARD_COUNT=2 differs from SHARD_COUNT=4"),
    ],
)
async def test_the_bot_refuses_to_start_beside_a_live_process_over_its_shards(
    bot_cli: Callable[..., Result],
    database_env: dict[str, str],
    db: Database,
    command: str,
    env: dict[str, str],
    says: str,
) -> None:
    await process(db, FixedClock(datetime.now(UTC)), 4, "0-1", pid=100).join()
    result = await asyncio.to_thread(bot_cli, command, DISCORD_TOKEN="x.y.z", **database_env, **env)
    line = one_line(result)
    assert line.startswith("error: ") and says in line, line


@needs_postgres
async def test_check_says_the_shards_are_free(
    bot_cli: Callable[..., Result], database_env: dict[str, str], db: Database
) -> None:
    await process(db, FixedClock(datetime.now(UTC)), 4, "0-1", pid=100).join()
    env = {"SHARD_COUNT": "4", "SHARD_IDS": "2-3"}
    result = await asyncio.to_thread(bot_cli, "check", **database_env, **env)
    assert result.returncode == 0, result.stderr
    assert "Shards: OK (2-3 of 4, none run by another process)" in result.stdout


async def test_reminders_and_weekly_starts_due_are_this_process_s_servers_only(
    db_settings: dict[str, Any], db: Database, clock: FixedClock
) -> None:
    scoped = Settings(_env_file=None, **db_settings, shard_count=2, shard_ids="1")
    services = build_services(scoped, db, clock)
    theirs, mine = guild_on(0, 2), guild_on(1, 2)
    for guild_id in (theirs, mine):
        await services.roadmap.members.start(guild_id, 10, track="ai_engineer")
        await services.roadmap.reminders.turn_on(guild_id, 10, "10:30")
        await services.guild_settings.set_channel(guild_id, ChannelKind.CHALLENGE, 555)
        await services.challenges.weekly.create(
            guild_id, 99, title="Later", brief="b", rules="r",
            deadline="2026-03-08 18:00", starts="2026-03-03 09:00",
        )  # fmt: skip
    clock.advance(minutes=31)
    assert [r.guild_id for r in await services.roadmap.reminders.due(clock.now(), 10)] == [mine]
    clock.advance(days=1)
    assert [w.guild_id for w in await services.challenges.weekly.due_starts(clock.now())] == [mine]
