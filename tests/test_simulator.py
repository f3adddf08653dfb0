"""The simulator's test API, driven through the real bot with a test-only cog."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from simulator.harness import UnansweredInteraction
from simulator.invocations import InvalidInvocation
from tests.probe_cog import ProbeCog


@pytest.fixture
async def probe(sim):
    cog = ProbeCog(sim.bot)
    await sim.add_cog(cog)
    return cog


async def test_a_plain_answer_is_read_back(sim, probe):
    alice = sim.member("alice")
    r = await sim.slash(alice, "probe echo", text="hello")
    assert (r.content, r.ephemeral, r.deferred, r.modal) == ("hello", True, False, None)

    public = await sim.slash(alice, "probe echo", text="for all", public=True)
    assert not public.ephemeral
    assert [m.content for m in sim.messages(sim.guild.channel("general"))] == ["for all"]


async def test_a_deferred_answer_is_waited_for(sim, probe):
    alice = sim.member("alice")
    edited = await sim.slash(alice, "probe slow")
    assert edited.deferred and edited.ephemeral
    assert edited.content == "Done after thinking."

    followed = await sim.slash(alice, "probe slow", followup=True)
    assert followed.content == "Done via follow-up."  # replaces the "thinking" message


async def test_buttons_selects_and_modals(sim, probe):
    alice = sim.member("alice")
    r = await sim.slash(alice, "probe buttons")
    labels = [c["label"] for c in r.components[0]["components"]]
    assert labels == ["Confirm", "Later", "Explain", "Break"]

    picked = await sim.select(alice, r.message, custom_id="probe:pick", values=["t2"])
    assert picked.content == "Picked t2."

    later = await sim.click(alice, r.message, label="Later")
    assert later.deferred and later.content == "Saved for later." and later.ephemeral

    form = await sim.click(alice, r.message, label="Explain")
    assert form.modal["title"] == "A note"
    done = await sim.submit_modal(alice, form, {"Your note": "read chapter 3"})
    assert done.content == "Noted: read chapter 3 (no mood)"

    confirmed = await sim.click(alice, r.message, custom_id="probe:ok")
    assert confirmed.message.id == r.message.id
    assert sim.messages(sim.guild.channel("general"))[0].content == "Confirmed."
    with pytest.raises(InvalidInvocation, match="disabled"):
        await sim.click(alice, r.message, label="Confirm")


async def test_a_modal_from_a_slash_command(sim, probe):
    alice = sim.member("alice")
    form = await sim.slash(alice, "probe form")
    with pytest.raises(InvalidInvocation, match="required"):
        await sim.submit_modal(alice, form, {"Mood": "fine"})
    done = await sim.submit_modal(alice, form, {"probe:note": "ok", "Mood": "great"})
    assert done.content == "Noted: ok (great)"


async def test_files_both_ways(sim, probe):
    alice = sim.member("alice")
    report = await sim.slash(alice, "probe file")
    assert report.files == [("report.csv", b"week,checkins\n1,5\n")]

    sized = await sim.slash(alice, "probe size", upload=("notes.txt", b"hello world"))
    assert sized.content == "notes.txt: 11 bytes, starts b'hello'"


async def test_user_role_and_channel_options_arrive_resolved(sim, probe):
    alice, bob = sim.member("alice"), sim.member("bob")
    r = await sim.slash(
        alice,
        "probe whois",
        member=bob,
        role=sim.guild.role("reviewer"),
        channel=sim.guild.channel("qa"),
    )
    assert r.content == "bob / reviewer / qa"


async def test_sub_command_groups_and_every_plain_option_type(sim, probe):
    alice, bob = sim.member("alice"), sim.member("bob")
    r = await sim.slash(alice, "probe admin grade", score=7, weight=0.5, final=True, who=bob)
    assert r.content == "bob: 7 x 0.5 final=True level=junior"
    role = await sim.slash(
        alice, "probe admin grade", score=0, weight=2, final=False, who=sim.guild.role("reviewer")
    )
    assert role.content.startswith("reviewer: 0 x 2.0")
    with pytest.raises(InvalidInvocation, match=r"0\.\.10"):
        await sim.slash(alice, "probe admin grade", score=11, weight=1, final=True, who=bob)
    with pytest.raises(InvalidInvocation, match="1-20 characters"):
        await sim.slash(
            alice, "probe admin grade", score=1, weight=1, final=True, who=bob, level="x" * 21
        )
    with pytest.raises(InvalidInvocation, match="needs a sub-command"):
        await sim.slash(alice, "probe admin")


async def test_errors_in_buttons_and_forms_are_answered_too(sim, probe, caplog):
    alice = sim.member("alice")
    card = await sim.slash(alice, "probe buttons")
    broken = await sim.click(alice, card.message, label="Break")
    assert broken.ephemeral and broken.content.startswith("Something went wrong (ref ")
    form = await sim.click(alice, card.message, label="Explain")
    failed = await sim.submit_modal(alice, form, {"Your note": "explode"})
    assert failed.ephemeral and failed.content.startswith("Something went wrong (ref ")
    logged = " ".join(r.getMessage() for r in caplog.records if r.levelname == "ERROR")
    for reply in (broken, failed):
        assert reply.content.split("ref ")[1][:6] in logged


async def test_autocomplete_returns_the_choices(sim, probe):
    alice = sim.member("alice")
    choices = await sim.autocomplete(alice, "probe pick", focused="fruit", fruit="ap")
    assert [c["value"] for c in choices] == ["apple", "apricot"]


async def test_posts_threads_forum_posts_dms_and_roles(sim, probe):
    mod, rita = sim.member("mo", moderator=True), sim.member("rita")
    r = await sim.slash(mod, "probe post", member=rita)

    challenges = sim.guild.channel("challenges")
    [post] = sim.messages(challenges)
    assert post.embeds[0]["title"] == "Daily challenge"
    [thread] = sim.threads(challenges)
    assert int(thread["id"]) == post.thread_id
    assert [m.content for m in sim.messages(post.thread_id)] == ["Post your answers here."]
    [forum_post] = sim.threads(sim.guild.channel("forum-reviews"))
    assert forum_post["name"] == "Review: RAG app"
    assert sim.messages(int(forum_post["id"]))[0].content == "Please review my app."
    assert sim.guild.role("reviewer") in sim.member_roles(rita)
    assert [m.content for m in sim.dms(rita)] == ["You are now a reviewer."]
    assert r.content.endswith("dm sent")


async def test_closed_dms_fail_like_discord(sim, probe):
    mod, rita = sim.member("mo", moderator=True), sim.member("rita")
    sim.close_dms(rita)
    r = await sim.slash(mod, "probe post", member=rita)
    assert r.content.endswith("dm closed")
    assert sim.dms(rita) == []


async def test_a_domain_error_becomes_its_ephemeral_reason(sim, probe):
    r = await sim.slash(sim.member("alice"), "probe refuse")
    assert r.ephemeral
    assert r.content == "You have not enrolled yet: use /roadmap start."


@pytest.mark.parametrize("after_defer", [False, True])
async def test_an_unexpected_error_gets_a_reference_that_is_in_the_log(
    sim, probe, caplog, after_defer
):
    with caplog.at_level(logging.ERROR, logger="bot.ui.errors"):
        r = await sim.slash(sim.member("alice"), "probe boom", after_defer=after_defer)
    assert r.ephemeral
    match = re.fullmatch(r"Something went wrong \(ref ([0-9A-F]{6})\)\..*", r.content)
    assert match, r.content
    [record] = [rec for rec in caplog.records if match.group(1) in rec.getMessage()]
    assert "probe exploded" in str(record.exc_info[1])


async def test_a_member_input_Discord_would_not_send_is_refused_in_the_test(sim, probe):
    alice = sim.member("alice")
    with pytest.raises(InvalidInvocation, match="no option"):
        await sim.slash(alice, "probe echo", txt="typo")
    with pytest.raises(InvalidInvocation, match="required"):
        await sim.slash(alice, "probe echo")
    with pytest.raises(InvalidInvocation, match="no registered command"):
        await sim.slash(alice, "nope")


async def test_an_answer_after_three_seconds_is_refused_and_the_test_fails_loudly(sim, probe):
    alice = sim.member("alice")
    task = asyncio.create_task(sim.slash(alice, "probe wait"))
    await probe.waiting.wait()
    sim.age_interactions(3.5)  # the bot is still waiting: three seconds have gone by
    probe.release.set()
    with pytest.raises(UnansweredInteraction, match="did not respond"):
        await task
    # The late answer and the error handler's apology were both refused.
    assert {p.body["code"] for p in sim.take_problems()} == {10062}


async def test_restart_keeps_the_database_and_the_simulator(sim):
    mod = sim.member("mo", moderator=True)
    await sim.slash(mod, "config timezone", name="America/New_York")
    first = sim.bot
    await sim.restart_bot()
    assert sim.bot is not first and sim.bot.is_ready()
    assert sim.server.gateway.identifies == 2
    r = await sim.slash(mod, "config view")
    assert "America/New_York" in r.embeds[0]["fields"][2]["value"]


async def test_a_persistent_button_works_after_a_restart(sim, probe):
    alice = sim.member("alice")
    offer = await sim.slash(alice, "probe offer", item=42)
    await sim.restart_bot()
    await sim.add_cog(ProbeCog(sim.bot))  # as setup_hook would load it again
    r = await sim.click(alice, offer.message, label="Claim")
    assert r.content == "Claimed 42."


async def test_the_original_response_can_be_fetched_and_edited(sim, probe):
    r = await sim.slash(sim.member("alice"), "probe count")
    assert r.content == "1 2"
    assert r.message.edits == 1


async def test_the_scheduler_runs_on_the_simulated_clock(sim):
    ticks = []

    async def job(now):
        ticks.append(now)

    sim.services.scheduler.add_job("test:tick", job)
    await sim.run_scheduler()
    await sim.advance(hours=25)
    assert [t.isoformat() for t in ticks] == [
        "2026-03-02T10:00:00+00:00",
        "2026-03-03T11:00:00+00:00",
    ]


async def test_a_rate_limit_is_waited_out_and_the_post_goes_through(sim, probe):
    mod, rita = sim.member("mo", moderator=True), sim.member("rita")
    sim.fail_next("POST", "/channels/{channel_id}/messages", status=429, retry_after=0.05)
    await sim.slash(mod, "probe post", member=rita)
    assert len(sim.messages(sim.guild.channel("challenges"))) == 1
    statuses = [s for m, t, s in sim.server.calls if t == "/channels/{channel_id}/messages"]
    assert statuses[:2] == [429, 200]


async def test_a_server_error_is_retried(sim, probe):
    alice = sim.member("alice")
    sim.fail_next("POST", "/interactions/{interaction_id}/{token}/callback", status=500)
    r = await sim.slash(alice, "probe echo", text="still here")
    assert r.content == "still here"
    assert sim.server.count_calls("POST", "/interactions/{id}/{token}/callback") == 2


async def test_an_unknown_route_is_recorded_for_the_fixture_to_fail(sim):
    status, body = await sim.api("GET", "/guilds/1/bans")
    assert status == 404 and "no route GET /api/v10/guilds/1/bans" in body["message"]
    [problem] = sim.take_problems()
    assert problem.kind == "unknown-route"


async def test_the_api_needs_the_bot_token(sim):
    status, _ = await sim.api("GET", "/users/@me", token=False)
    assert status == 401


async def test_pings_are_recorded_as_discord_would_send_them(sim, probe):
    alice, bob = sim.member("alice"), sim.member("bob")
    quiet = await sim.slash(alice, "probe echo", text=f"hi <@{bob.id}> @everyone", public=True)
    assert not quiet.message.pinged  # the bot's default allowed_mentions is none

    status, body = await sim.api(
        "POST", f"/channels/{sim.guild.channel('qa')}/messages", {"content": f"<@{bob.id}>"}
    )
    loud = sim.server.state.messages[int(body["id"])]
    assert status == 200 and loud.pinged_user_ids == {bob.id}  # no allowed_mentions: pings


async def test_a_command_used_inside_a_thread(sim, probe):
    mod, rita = sim.member("mo", moderator=True), sim.member("rita")
    await sim.slash(mod, "probe post", member=rita)
    [thread] = sim.threads(sim.guild.channel("challenges"))
    r = await sim.slash(
        rita, "probe echo", text="in the thread", public=True, in_channel=int(thread["id"])
    )
    assert r.message.channel_id == int(thread["id"])
    assert sim.messages(int(thread["id"]))[-1].content == "in the thread"


async def test_a_deleted_thread_is_gone_for_the_bot_too(sim, probe):
    mod, rita = sim.member("mo", moderator=True), sim.member("rita")
    await sim.slash(mod, "probe post", member=rita)
    challenges = sim.guild.channel("challenges")
    thread_id = int(sim.threads(challenges)[0]["id"])
    assert sim.bot.get_channel(thread_id) is not None
    await sim.delete_channel(thread_id)
    assert sim.threads(challenges) == [] and sim.messages(thread_id) == []
    assert sim.bot.get_guild(sim.guild.id).get_thread(thread_id) is None
    status, body = await sim.api("POST", f"/channels/{thread_id}/messages", {"content": "x"})
    assert (status, body["code"]) == (404, 10003)


async def test_a_repeated_nonce_returns_the_first_message_as_discord_does(sim):
    channel = sim.guild.channel("general")
    path = f"/channels/{channel}/messages"
    body = {"content": "once", "nonce": "daily-2026-03-02", "enforce_nonce": True}
    status, first = await sim.api("POST", path, body)
    assert status == 200 and first["nonce"] == "daily-2026-03-02"
    status, again = await sim.api("POST", path, dict(body, content="twice"))
    assert status == 200 and again["id"] == first["id"] and again["content"] == "once"
    assert [m.content for m in sim.messages(channel)] == ["once"]
    assert sim.server.state.nonce_replays == 1
    status, fetched = await sim.api("GET", path)
    assert "nonce" not in fetched[0]  # Discord only echoes it on creation

    status, _ = await sim.api("POST", path, dict(body, enforce_nonce=False))
    assert status == 200 and len(sim.messages(channel)) == 2  # not enforced: a new message

    sim.server.state.time_offset += 600  # the window ("a few minutes") has passed
    status, later = await sim.api("POST", path, body)
    assert status == 200 and later["id"] != first["id"] and len(sim.messages(channel)) == 3

    sim.server.state.messages[int(later["id"])].deleted = True
    status, gone = await sim.api("POST", path, body)
    assert status == 404 and gone["code"] == 10008

    status, refused = await sim.api("POST", path, dict(body, nonce="x" * 26))
    assert status == 400 and "nonce" in refused["errors"]
    sim.take_problems()


async def test_a_5xx_after_the_write_leaves_the_message_and_discord_py_resends_the_nonce(
    sim, probe
):
    mod, rita = sim.member("mo", moderator=True), sim.member("rita")
    sim.fail_next("POST", "/channels/{channel_id}/messages", status=502, after_commit=True)
    await sim.slash(mod, "probe post", member=rita)
    statuses = [s for m, t, s in sim.server.calls if t == "/channels/{channel_id}/messages"]
    assert statuses[:2] == [502, 200]  # discord.py retried the same payload...
    assert len(sim.messages(sim.guild.channel("challenges"))) == 1  # ...and its nonce held
    assert sim.server.state.nonce_replays == 1
