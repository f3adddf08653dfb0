"""/privacy export and /privacy delete end to end, and a server's data after the bot leaves."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta

import pytest

from bot.services.guild_settings import ChannelKind
from simulator import payloads
from simulator.harness import SimHarness
from simulator.invocations import InvalidInvocation
from tests.fakes_ops import FakeNotesSource, FakeQA


async def bot_removed(sim: SimHarness) -> None:
    """Discord tells the bot it was removed from the server (GUILD_DELETE, not an outage)."""
    await sim.server.gateway.dispatch("GUILD_DELETE", {"id": str(sim.guild.id)}, sim.guild.id)
    await wait_until(lambda: sim.bot.get_guild(sim.guild.id) is None)


async def bot_added_back(sim: SimHarness) -> None:
    data = payloads.guild_create(sim.server.state, sim.guild)
    del data["unavailable"]  # a join, not a server coming back from an outage
    await sim.server.gateway.dispatch("GUILD_CREATE", data, sim.guild.id)
    await wait_until(lambda: sim.bot.get_guild(sim.guild.id) is not None)


async def wait_until(condition, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.02)  # let the listeners that fired with it finish their write


@pytest.fixture
def notes(sim: SimHarness) -> FakeNotesSource:
    """A capability plugged into the running bot's services, as real ones are."""
    source = FakeNotesSource()
    sim.services.fake_notes = source  # type: ignore[attr-defined]
    return source


async def test_export_sends_only_the_member_their_own_data(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    alice, bob = sim.member("alice"), sim.member("bob")
    notes.add(sim.guild.id, alice.id, "alice's note <@&1> @everyone")
    notes.add(sim.guild.id, bob.id, "bob's note")

    r = await sim.slash(alice, "privacy export")

    assert r.ephemeral and r.deferred
    [(filename, data)] = r.files
    assert filename.endswith(".json") and str(alice.id) in filename
    document = json.loads(data)
    assert document["user_id"] == str(alice.id)
    assert document["sections"]["notes"]["notes"][0]["text"].startswith("alice's note")
    assert "portfolio" in document["sections"]  # a real capability found on its own
    assert "bob's note" not in data.decode()


async def test_an_export_too_big_for_discord_is_refused_with_the_way_out(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    alice = sim.member("alice")
    sim.settings.privacy_export_max_bytes = 64 * 1024
    notes.add(sim.guild.id, alice.id, os.urandom(150_000).hex())

    r = await sim.slash(alice, "privacy export")

    assert r.ephemeral and not r.files
    assert "python -m bot export-member" in r.content
    assert "Something went wrong" not in r.content


async def test_delete_asks_first_and_cancel_keeps_everything(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    alice = sim.member("alice")
    notes.add(sim.guild.id, alice.id, "keep me")

    r = await sim.slash(alice, "privacy delete")
    assert r.ephemeral and "cannot be undone" in r.content
    labels = [c["label"] for row in r.components for c in row["components"]]
    assert labels == ["Erase my data", "Cancel"]
    assert len(notes.notes) == 1  # nothing happens before the click

    cancelled = await sim.click(alice, r.message, label="Cancel")
    assert "nothing was erased" in cancelled.content
    assert len(notes.notes) == 1
    with pytest.raises(InvalidInvocation):
        await sim.click(alice, r.message, label="Erase my data")


async def test_confirmed_delete_erases_the_member_everywhere(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    alice, bob = sim.member("alice"), sim.member("bob")
    notes.add(sim.guild.id, alice.id, "one")
    notes.add(sim.guild.id + 1, alice.id, "in another server")
    notes.add(sim.guild.id, bob.id, "bob stays")

    r = await sim.slash(alice, "privacy delete")
    done = await sim.click(alice, r.message, label="Erase my data")

    assert "erased 2 record(s)" in done.content
    assert done.components == []
    assert [(u, t) for _, u, t in notes.notes] == [(bob.id, "bob stays")]
    export = json.loads((await sim.slash(alice, "privacy export")).files[0][1])
    assert export["sections"]["notes"] == {"notes": []}


async def test_clicking_erase_twice_erases_once_and_says_so(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    alice = sim.member("alice")
    notes.add(sim.guild.id, alice.id, "one")
    r = await sim.slash(alice, "privacy delete")

    first, second = await asyncio.gather(
        sim.click(alice, r.message, label="Erase my data"),
        sim.click(alice, r.message, label="Erase my data"),
    )

    answers = sorted([first.content, second.content])
    assert answers[0] == "Already handled: see the message above."
    assert "erased 1 record(s)" in answers[1]
    assert notes.notes == []


async def test_a_second_confirmed_delete_finds_nothing_left(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    alice = sim.member("alice")
    notes.add(sim.guild.id, alice.id, "one")
    one = await sim.slash(alice, "privacy delete")
    two = await sim.slash(alice, "privacy delete")
    await sim.click(alice, one.message, label="Erase my data")
    again = await sim.click(alice, two.message, label="Erase my data")
    assert again.content == "There was nothing stored about you to erase."


async def test_only_the_member_who_asked_can_confirm(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    alice, mallory = sim.member("alice"), sim.member("mallory")
    notes.add(sim.guild.id, alice.id, "mine")
    r = await sim.slash(alice, "privacy delete")
    refused = await sim.click(mallory, r.message, label="Erase my data")
    assert refused.ephemeral and "someone else's" in refused.content
    assert len(notes.notes) == 1


async def test_a_source_that_fails_is_named_and_the_rest_erased(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    alice = sim.member("alice")
    notes.add(sim.guild.id, alice.id, "one")
    sim.services.broken = FakeNotesSource("broken", fail_on_delete=True)  # type: ignore[attr-defined]
    r = await sim.slash(alice, "privacy delete")
    done = await sim.click(alice, r.message, label="Erase my data")
    assert "broken could not be erased" in done.content
    assert notes.notes == []


async def test_a_server_that_removes_the_bot_is_erased_after_the_grace_period(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    guild_id = sim.guild.id
    notes.add(guild_id, sim.member("alice").id, "server data")
    await sim.services.guild_settings.set_channel(guild_id, ChannelKind.CHALLENGE, 42)
    await bot_removed(sim)
    assert await sim.services.privacy.departed_at(guild_id) == sim.clock.now()

    await sim.advance(days=sim.settings.guild_data_grace_days - 1)
    assert notes.notes and (await sim.services.guild_settings.get(guild_id)).challenge_channel_id
    await sim.advance(days=1, minutes=1)
    assert notes.notes == []
    assert (await sim.services.guild_settings.get(guild_id)).challenge_channel_id is None


async def test_adding_the_bot_back_in_time_keeps_the_data(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    notes.add(sim.guild.id, sim.member("alice").id, "server data")
    await bot_removed(sim)
    await sim.advance(days=2)
    await bot_added_back(sim)
    await sim.advance(days=60)
    assert len(notes.notes) == 1
    assert await sim.services.privacy.departed_at(sim.guild.id) is None


async def test_the_scheduler_purges_old_questions(sim: SimHarness) -> None:
    now = sim.clock.now()
    qa = FakeQA([now - timedelta(days=200), now - timedelta(days=5)])
    sim.services.qa = qa  # type: ignore[attr-defined]
    await sim.run_scheduler()
    assert qa.asked_at == [now - timedelta(days=5)]
    await sim.advance(days=86)
    assert qa.asked_at == []


async def test_a_server_that_removed_the_bot_while_it_was_offline_is_noticed_at_start_up(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    old = sim.server.add_community_guild("Old study group")
    await sim.restart_bot()  # the bot is in both servers
    notes.add(old.id, sim.member("alice").id, "old server data")
    await sim.services.guild_settings.set_channel(old.id, ChannelKind.CHALLENGE, 42)
    sim.services.fake_notes = notes  # type: ignore[attr-defined]

    await sim.stop_bot()
    sim.server.state.guilds.pop(old.id)  # removed while the bot was down: no GUILD_DELETE
    sim.clock.advance(days=1)
    await sim.start_bot()
    sim.services.fake_notes = notes  # type: ignore[attr-defined]
    await wait_until(lambda: sim.bot.is_ready())
    await wait_until_departed(sim, old.id)
    assert await sim.services.privacy.departed_at(old.id) == sim.clock.now()
    assert await sim.services.privacy.departed_at(sim.guild.id) is None  # still in this one

    await sim.advance(days=sim.settings.guild_data_grace_days - 1)
    assert notes.notes and (await sim.services.guild_settings.get(old.id)).challenge_channel_id
    await sim.advance(days=1, minutes=1)
    assert notes.notes == []
    assert (await sim.services.guild_settings.get(old.id)).challenge_channel_id is None


async def test_a_server_that_returns_within_the_grace_period_keeps_its_data(
    sim: SimHarness, notes: FakeNotesSource
) -> None:
    old = sim.server.add_community_guild("Old study group")
    await sim.restart_bot()
    notes.add(old.id, sim.member("alice").id, "old server data")
    await sim.stop_bot()
    sim.server.state.guilds.pop(old.id)
    await sim.start_bot()
    sim.services.fake_notes = notes  # type: ignore[attr-defined]
    await wait_until_departed(sim, old.id)

    await sim.stop_bot()
    sim.server.state.guilds[old.id] = old  # added back while the bot was down
    sim.clock.advance(days=10)
    await sim.start_bot()
    sim.services.fake_notes = notes  # type: ignore[attr-defined]
    await wait_until(lambda: sim.bot.get_guild(old.id) is not None)
    await sim.advance(days=60)
    assert len(notes.notes) == 1
    assert await sim.services.privacy.departed_at(old.id) is None


async def wait_until_departed(sim: SimHarness, guild_id: int, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while await sim.services.privacy.departed_at(guild_id) is None:
        assert loop.time() < deadline, "the departure was never noticed"
        await asyncio.sleep(0.01)


async def test_erasure_deletes_the_bots_posts_that_quote_the_member(sim) -> None:
    alice, bob, mod = sim.member("alice"), sim.member("bob"), sim.member("mo", moderator=True)
    general, qa = sim.guild.channel("general"), sim.guild.channel("qa")
    await sim.slash(mod, "config channel", kind="qa", channel=qa)
    for member in (alice, bob):
        await sim.slash(member, "roadmap start", track="ai_engineer")
    mine = await sim.slash(alice, "checkin", note="Alice's private struggle with calculus")
    theirs = await sim.slash(bob, "checkin", note="Bob kept going")
    answer = await sim.slash(alice, "ask", question="Alice asks how to pitch a GPU budget")
    await sim.click(alice, answer.message, label="Ask a mentor")
    (escalation,) = sim.messages(qa)
    await sim.click(alice, answer.message, label="Follow up")
    (follow_up,) = sim.threads(general)
    assert "Alice asks" in follow_up["name"]

    asked = await sim.slash(alice, "privacy delete")
    await sim.click(alice, asked.message, label="Erase my data")
    await sim.run_scheduler()
    shown = [m.id for m in sim.messages(general)]
    assert mine.message.id not in shown and theirs.message.id in shown
    assert escalation.id not in [m.id for m in sim.messages(qa)]
    state = sim.server.state
    assert state.channels[int(follow_up["id"])].name == "Removed at a member's request"
    assert state.channels[escalation.thread_id].name == "Removed at a member's request"
    assert await sim.services.db.fetch_value("SELECT count(*) FROM post_cleanups") == 0


async def test_posts_in_an_archived_review_thread_are_cleaned_up_too(sim) -> None:
    """Discord changes nothing in an archived thread: the bot reopens it and closes it again."""
    alice = sim.member("alice")
    general = sim.guild.channel("general")
    await sim.slash(alice, "roadmap start", track="ai_engineer")
    answer = await sim.slash(alice, "ask", question="Alice asks about vector databases")
    await sim.click(alice, answer.message, label="Follow up")
    (thread,) = sim.threads(general)
    channel = sim.server.state.channels[int(thread["id"])]
    checkin = await sim.slash(alice, "checkin", note="posted in the thread", in_channel=channel.id)
    channel.archived = True  # the thread went quiet and Discord archived it

    asked = await sim.slash(alice, "privacy delete")
    await sim.click(alice, asked.message, label="Erase my data")
    await sim.run_scheduler()
    assert checkin.message.id not in [m.id for m in sim.messages(channel.id)]
    assert channel.name == "Removed at a member's request" and channel.archived
    assert await sim.services.db.fetch_value("SELECT count(*) FROM post_cleanups") == 0
