"""Guild settings, time zones, the scheduler and scheduled-post claims, on a real database."""

from __future__ import annotations

from datetime import time

import pytest

from bot.clock import FixedClock
from bot.errors import DomainError
from bot.scheduler import Scheduler
from bot.services.bot_state import BotState
from bot.services.command_sync import payload_hash
from bot.services.guild_settings import ChannelKind, RoleKind, TimeKind
from bot.services.scheduled_posts import PostKey
from bot.shards import ShardScope
from bot.timezones import parse_time_of_day, parse_timezone, search_timezones
from bot.wiring import Services


async def test_unknown_guild_gets_defaults(services: Services) -> None:
    settings = await services.guild_settings.get(42)
    assert settings.timezone == "UTC"
    assert settings.daily_challenge_time == "09:00"
    assert settings.challenge_channel_id is None


async def test_settings_are_stored_per_guild(services: Services) -> None:
    await services.guild_settings.set_channel(1, ChannelKind.CHALLENGE, 111)
    await services.guild_settings.set_role(1, RoleKind.MODERATOR, 222)
    await services.guild_settings.set_timezone(1, "Europe/Berlin")
    await services.guild_settings.set_time(1, TimeKind.DAILY_CHALLENGE, "7:05")
    one = await services.guild_settings.get(1)
    assert one.challenge_channel_id == 111
    assert one.moderator_role_id == 222
    assert one.timezone == "Europe/Berlin"
    assert one.daily_challenge_time == "07:05"
    assert (await services.guild_settings.get(2)).challenge_channel_id is None


@pytest.mark.parametrize(
    "bad", ["Mars/Olympus", "", "europe/berlin ", "../../etc/passwd", "x" * 500]
)
async def test_unknown_time_zone_is_refused_and_nothing_written(
    services: Services, bad: str
) -> None:
    with pytest.raises(DomainError, match="time zone"):
        await services.guild_settings.set_timezone(5, bad)
    assert await services.db.fetch_value("SELECT count(*) FROM guild_settings") == 0


@pytest.mark.parametrize("bad", ["25:99", "24:00", "9", "noon", "", "12:60", "-1:30"])
async def test_bad_time_of_day_is_refused(services: Services, bad: str) -> None:
    with pytest.raises(DomainError):
        await services.guild_settings.set_time(5, TimeKind.DIGEST, bad)
    assert (await services.guild_settings.get(5)).digest_time == "09:00"


def test_time_parsing_and_zones() -> None:
    assert parse_time_of_day("23:59") == time(23, 59)
    assert parse_timezone("Asia/Kolkata").key == "Asia/Kolkata"
    assert search_timezones("berl")[0] == "Europe/Berlin"
    assert len(search_timezones("")) == 25


async def test_scheduled_post_is_claimed_once(services: Services) -> None:
    posts = services.scheduled_posts
    first = await posts.claim(1, "digest", "2026-W10")
    assert first is not None and first.attempt == 1 and not first.retry
    assert await posts.claim(1, "digest", "2026-W10") is None
    assert await posts.claim(2, "digest", "2026-W10") is not None
    await posts.mark_sent(1, "digest", "2026-W10", 999)
    assert await posts.was_sent(1, "digest", "2026-W10")
    await posts.release(1, "digest", "2026-W10")
    assert await posts.claim(1, "digest", "2026-W10") is None


async def test_a_claim_left_by_a_crash_is_claimed_again_after_its_lease(
    services: Services, clock: FixedClock
) -> None:
    posts = services.scheduled_posts
    assert await posts.claim(1, "daily", "2026-03-02")  # ...and the process dies here
    clock.advance(minutes=4)
    assert await posts.claim(1, "daily", "2026-03-02") is None  # still leased
    assert not await posts.is_open(1, "daily", "2026-03-02")
    clock.advance(minutes=1)
    assert await posts.is_open(1, "daily", "2026-03-02")
    again = await posts.claim(1, "daily", "2026-03-02")
    assert again is not None and again.attempt == 2 and again.retry
    await posts.mark_skipped(1, "daily", "2026-03-02", "403 Missing Access")
    clock.advance(days=1)
    assert await posts.claim(1, "daily", "2026-03-02") is None  # skipped is done for good
    assert await posts.was_sent(1, "daily", "2026-03-02")
    reason = await services.db.fetch_value("SELECT skip_reason FROM scheduled_posts")
    assert reason == "403 Missing Access"


def test_a_post_has_one_nonce_per_target_within_discords_limit() -> None:
    key = PostKey(1, "challenge:daily", "2026-03-02")
    assert key.nonce() == PostKey(1, "challenge:daily", "2026-03-02").nonce()
    assert key.nonce(0) != key.nonce(1)
    assert key.nonce() != PostKey(2, "challenge:daily", "2026-03-02").nonce()
    assert len(key.nonce()) == 25


async def test_released_claim_is_retried_after_a_growing_back_off(
    services: Services, clock: FixedClock
) -> None:
    posts = services.scheduled_posts
    assert await posts.claim(1, "daily", "2026-03-02")
    await posts.release(1, "daily", "2026-03-02")
    assert not await posts.claim(1, "daily", "2026-03-02")  # not on the very next tick
    clock.advance(minutes=1)
    assert await posts.claim(1, "daily", "2026-03-02")
    assert not await posts.claim(1, "daily", "2026-03-02")  # claimed again: one owner
    await posts.release(1, "daily", "2026-03-02")
    clock.advance(minutes=1)
    assert not await posts.claim(1, "daily", "2026-03-02")  # second failure waits 2 minutes
    clock.advance(minutes=1)
    assert await posts.claim(1, "daily", "2026-03-02")
    for _ in range(12):
        await posts.release(1, "daily", "2026-03-02")
        clock.advance(hours=1)
        assert await posts.claim(1, "daily", "2026-03-02")  # never more than an hour apart


async def test_scheduler_runs_every_job_and_survives_a_failing_one(clock: FixedClock) -> None:
    scheduler = Scheduler(clock, 1)
    seen: list[str] = []

    async def good(now) -> None:
        seen.append(now.isoformat())

    async def bad(now) -> None:
        raise RuntimeError("broken job")

    scheduler.add_job("bad", bad)
    scheduler.add_job("good", good)
    await scheduler.run_once()
    clock.advance(minutes=1)
    await scheduler.run_once()
    assert len(seen) == 2
    assert scheduler.failures == {"bad": 2}
    assert scheduler.last_tick == clock.now()


async def test_command_sync_is_needed_only_after_a_change(services: Services) -> None:
    state = services.command_sync
    first = payload_hash([{"name": "checkin", "options": []}])
    assert await state.needs_sync("global", first)
    await state.record("global", first)
    assert not await state.needs_sync("global", first)
    assert await state.needs_sync("guild:1", first)
    changed = payload_hash([{"name": "checkin", "options": [{"name": "note"}]}])
    assert await state.needs_sync("global", changed)


async def test_post_keys_that_name_a_member_are_exported_erased_and_expire(
    services: Services, clock: FixedClock
) -> None:
    posts = services.scheduled_posts
    await posts.claim(1, "roadmap:remind", "42:2026-03-02")
    await posts.claim(1, "roadmap:buddy-ping", "7:42:2026-03-02")
    await posts.claim(1, "roadmap:remind", "7:2026-03-02")
    await posts.claim(1, "challenge:daily", "2026-03-02")
    exported = await posts.export_member(42)
    assert [r["period"] for r in exported["reminders_and_nudges_sent"]] == [
        "42:2026-03-02",
        "7:42:2026-03-02",
    ]
    assert await posts.delete_member(42) == 2
    clock.advance(days=8)
    assert await posts.expire_member_keys(clock.now()) == 1  # member 7's reminder
    left = await services.db.fetch_all("SELECT kind, period FROM scheduled_posts")
    assert [tuple(r) for r in left] == [("challenge:daily", "2026-03-02")]


async def test_each_shard_process_knows_whether_its_own_previous_run_stopped_cleanly(
    services: Services, clock: FixedClock
) -> None:
    first = BotState(services.db, clock, ShardScope(4, (0, 1)))
    second = BotState(services.db, clock, ShardScope(4, (2, 3)))
    assert await first.mark_started() is None
    assert await second.mark_started() is None  # the other process's run is not its own
    await second.mark_stopped()
    assert await second.mark_started() is None
    assert await first.mark_started() is not None  # the first never stopped: it says so
