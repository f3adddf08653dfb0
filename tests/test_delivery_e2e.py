"""Scheduled posts through the one delivery helper: exactly once, never lost, one policy.

Driven with the daily challenge (the same helper sends every scheduled post): a passing
failure is retried after a back-off, a refusal skips the post and tells the moderators once,
and a post that reached Discord before its try failed or its process died is found by its
marker (or refused by Discord's nonce) instead of being sent twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.services.challenges.daily import DAILY_KIND
from bot.services.guild_settings import ChannelKind, RoleKind
from bot.services.scheduled_posts import PostKey

MESSAGES = "/channels/{channel_id}/messages"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None, database_path=tmp_path / "mentor.db", challenge_count_edit_seconds=0
    )


async def configure(sim) -> int:
    guild_settings, guild = sim.services.guild_settings, sim.guild
    await guild_settings.set_channel(guild.id, ChannelKind.CHALLENGE, guild.channel("challenges"))
    await guild_settings.set_channel(guild.id, ChannelKind.QA, guild.channel("qa"))
    await guild_settings.set_role(guild.id, RoleKind.MODERATOR, guild.role("moderator"))
    return guild.channel("challenges")


def daily_posts(sim, channel: int):
    return [m for m in sim.messages(channel) if m.embeds and "Daily" in m.embeds[0]["title"]]


async def post_row(sim):
    return await sim.services.db.fetch_one(
        "SELECT status, attempts, message_id, skip_reason FROM scheduled_posts WHERE kind = ?",
        (DAILY_KIND,),
    )


async def test_a_server_error_backs_off_and_the_post_goes_out_once(sim) -> None:
    channel = await configure(sim)
    sim.fail_next("POST", MESSAGES, status=503)
    await sim.run_scheduler()
    assert daily_posts(sim, channel) == []
    await sim.run_scheduler()
    assert daily_posts(sim, channel) == []  # backing off, not hammering Discord each tick
    await sim.advance(minutes=1)
    (post,) = daily_posts(sim, channel)
    row = await post_row(sim)
    assert row["status"] == "sent" and row["message_id"] == post.id and row["attempts"] == 2
    day = sim.clock.now().date().isoformat()
    assert post.nonce == PostKey(sim.guild.id, DAILY_KIND, day).nonce()  # sent with its nonce
    await sim.advance(hours=2)
    assert len(daily_posts(sim, channel)) == 1


async def test_a_post_made_before_a_5xx_is_found_by_its_marker_not_sent_again(sim) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    # Discord creates the message and still answers 503 (not retried by discord.py).
    sim.fail_next("POST", MESSAGES, status=503, after_commit=True)
    await sim.run_scheduler()
    (post,) = daily_posts(sim, channel)
    assert (await post_row(sim))["status"] == "claimed"  # the bot doesn't know it went out
    sim.server.state.time_offset += 600  # long enough for Discord to forget the nonce
    await sim.advance(minutes=1)
    assert daily_posts(sim, channel) == [post]  # found in the channel, not posted twice
    row = await post_row(sim)
    assert row["status"] == "sent" and row["message_id"] == post.id
    assert sim.threads(channel), "the found post still gets its discussion thread"
    reply = await sim.click(alice, post, label="Hint")
    assert reply.ephemeral and reply.content.startswith("Hint:")  # recorded: buttons work


async def test_a_retry_inside_discords_nonce_window_gets_the_first_message_back(sim) -> None:
    channel = await configure(sim)
    sim.fail_next("POST", MESSAGES, status=503, after_commit=True)
    await sim.run_scheduler()
    (post,) = daily_posts(sim, channel)
    # Even without looking in the channel first, the same nonce returns the same message.
    sim.fail_next("GET", MESSAGES, status=503)  # the look fails: the try waits again
    await sim.advance(minutes=1)
    await sim.advance(minutes=2)
    assert daily_posts(sim, channel) == [post]
    assert (await post_row(sim))["message_id"] == post.id


async def test_a_claim_left_by_a_dead_process_is_posted_after_its_lease(sim) -> None:
    channel = await configure(sim)
    (due,) = await sim.services.challenges.daily.due(sim.clock.now())
    assert await sim.services.scheduled_posts.claim(sim.guild.id, DAILY_KIND, due.day)
    await sim.restart_bot()  # the process that claimed it is gone; nothing was sent
    await sim.run_scheduler()
    assert daily_posts(sim, channel) == []  # its lease still holds the post
    await sim.advance(minutes=5)
    assert len(daily_posts(sim, channel)) == 1
    await sim.advance(minutes=5)
    assert len(daily_posts(sim, channel)) == 1


async def test_a_refused_post_is_skipped_and_the_moderators_are_told_once_a_day(sim) -> None:
    await configure(sim)
    await sim.services.guild_settings.set_channel(sim.guild.id, ChannelKind.CHALLENGE, 999)
    await sim.run_scheduler()
    sim.take_problems()
    row = await post_row(sim)
    assert row["status"] == "sent" and row["message_id"] is None
    assert row["skip_reason"].startswith("404")
    (notice,) = sim.messages(sim.guild.channel("qa"))
    assert "Posting in <#999> failed" in notice.content and "the daily challenge" in notice.content
    assert notice.pinged_role_ids == {sim.guild.role("moderator")}
    await sim.advance(hours=3)
    assert len(sim.messages(sim.guild.channel("qa"))) == 1  # skipped: not retried, told once
    await sim.advance(days=1)
    sim.take_problems()
    assert len(sim.messages(sim.guild.channel("qa"))) == 2  # a new day, still broken


async def test_without_a_nonce_a_5xx_after_the_write_would_have_posted_twice(sim) -> None:
    """The simulator's nonce rule is what the tests above rely on: without it, two posts."""
    channel = sim.guild.channel("challenges")
    path = f"/channels/{channel}/messages"
    first = await sim.api("POST", path, {"content": "x", "nonce": "n1", "enforce_nonce": True})
    again = await sim.api("POST", path, {"content": "x", "nonce": "n1", "enforce_nonce": True})
    assert first[1]["id"] == again[1]["id"]
    await sim.api("POST", path, {"content": "x", "nonce": "n2"})
    await sim.api("POST", path, {"content": "x", "nonce": "n2"})
    assert len(sim.messages(channel)) == 3
