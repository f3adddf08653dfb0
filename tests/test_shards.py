"""Shard settings as an operator writes them, and which servers a process's shards own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.app import MentorBot
from bot.clock import FixedClock
from bot.config import Settings
from bot.db import Database
from bot.shards import BadShardIds, ShardScope, parse_shard_ids
from bot.wiring import build_services
from tests.bot_cli import Result, one_line


def guild_on(shard: int, count: int, n: int = 0) -> int:
    """A server id Discord routes to `shard` of `count`."""
    return ((n * count + shard) << 22) | 12345


@pytest.mark.parametrize(
    ("text", "ids"),
    [("0-3", (0, 1, 2, 3)), ("0,1", (0, 1)), ("0-1,3", (0, 1, 3)), (" 2 ", (2,)), ("3,1", (1, 3))],
)
def test_shard_ids_are_written_as_numbers_and_ranges(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize("text", ["0-", "a", "1..3", "-1", "0;1", "0,,1", "3-1"])
def test_a_malformed_shard_list_is_refused(text: str) -> None:
    with pytest.raises(BadShardIds):
        parse_shard_ids(text)


def test_settings_give_discord_py_the_shards() -> None:
    default = Settings(_env_file=None)
    assert default.shard_count is None and default.shard_id_list is None  # Discord decides
    assert default.shard_scope.everything
    part = Settings(_env_file=None, shard_count=4, shard_ids="0-1,3")
    assert part.shard_id_list == [0, 1, 3]
    assert part.shard_scope == ShardScope(4, (0, 1, 3))
    assert Settings(_env_file=None, shard_count=4).shard_scope == ShardScope(4, (0, 1, 2, 3))


async def test_the_bot_runs_the_configured_shards(db: Database, clock: FixedClock) -> None:
    settings = Settings(_env_file=None, shard_count=4, shard_ids="1,3")
    bot = MentorBot(build_services(settings, db, clock), start_scheduler=False)
    assert bot.shard_count == 4 and bot.shard_ids == [1, 3]
    anyhow = MentorBot(build_services(Settings(_env_file=None), db, clock), start_scheduler=False)
    assert anyhow.shard_count is None and anyhow.shard_ids is None  # asks /gateway/bot


def test_a_scope_owns_the_servers_discord_routes_to_its_shards() -> None:
    scope = ShardScope(4, (0, 2))
    assert scope.owns(guild_on(0, 4)) and scope.owns(guild_on(2, 4, 7))
    assert not scope.owns(guild_on(1, 4)) and not scope.owns(guild_on(3, 4, 2))
    assert ShardScope().owns(guild_on(3, 4)) and ShardScope(4, (0, 1, 2, 3)).everything
    assert ShardScope(2, (1,)).describe() == "1 of 2"


async def test_the_sql_condition_picks_the_same_servers_on_this_engine(db: Database) -> None:
    """The one SQL text works on both engines (run the file with TEST_DATABASE=postgres)."""
    ids = [guild_on(shard, 3, n) for shard in range(3) for n in range(4)] + [(1 << 62) + 7]
    rows = " UNION ALL ".join("SELECT CAST(? AS BIGINT) AS guild_id" for _ in ids)
    for scope in (ShardScope(3, (0,)), ShardScope(3, (1, 2)), ShardScope(3, (0, 1, 2))):
        found = await db.fetch_all(
            f"SELECT guild_id FROM ({rows}) AS g WHERE {scope.sql('guild_id')}", ids
        )
        assert sorted(r["guild_id"] for r in found) == sorted(g for g in ids if scope.owns(g))
    assert ShardScope(3, (0, 1, 2)).sql("guild_id") == "TRUE"  # one process: no cost


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SHARD_COUNT": "4", "SHARD_IDS": "2-5"}, "names shard 4, outside SHARD_COUNT=4"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0-"}, "'0-' is not a list of shard numbers"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "3-1"}, "the range 3-1 goes backwards"),
        ({"SHARD_IDS": "0"}, "SHARD_IDS is set without SHARD_COUNT"),
        ({"SHARD_COUNT": "0"}, "Setting SHARD_COUNT is invalid"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0"}, "that needs PostgreSQL"),
    ],
)
@pytest.mark.parametrize("command", ["check", "run"])
def test_bad_shard_settings_are_one_line_and_status_2(
    bot_cli: Callable[..., Result], command: str, env: dict[str, str], says: str
) -> None:
    line = one_line(bot_cli(command, DISCORD_TOKEN="x.y.z", **env))
    assert says in line, line
    assert line.startswith("error: ")


def test_all_shards_in_one_process_on_sqlite_is_fine(bot_cli: Callable[..., Result]) -> None:
    result = bot_cli("check", SHARD_COUNT="2", SHARD_IDS="0-1")
    assert result.returncode == 0, result.stderr
    assert bot_cli("check", SHARD_COUNT="2").returncode == 0
