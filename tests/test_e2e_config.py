"""/config end to end: the real bot, real discord.py, a simulated Discord."""

from __future__ import annotations

import pytest


async def test_config_refused_to_a_member_and_accepted_for_a_moderator(sim):
    alice = sim.member("alice")
    mod = sim.member("mo", moderator=True)
    checkins = sim.guild.channel("checkins")

    refused = await sim.slash(alice, "config channel", kind="checkin", channel=checkins)
    assert refused.ephemeral
    assert "Only moderators" in refused.content
    assert (await sim.services.guild_settings.get(sim.guild.id)).checkin_channel_id is None

    accepted = await sim.slash(mod, "config channel", kind="checkin", channel=checkins)
    assert accepted.ephemeral
    assert f"<#{checkins}>" in accepted.content
    assert (await sim.services.guild_settings.get(sim.guild.id)).checkin_channel_id == checkins

    shown = await sim.slash(mod, "config view")
    channels = shown.embeds[0]["fields"][0]["value"]
    assert f"<#{checkins}>" in channels
    assert sim.messages(sim.guild.channel("general")) == []  # every answer was ephemeral


async def test_the_configured_moderator_role_makes_a_member_a_moderator(sim):
    mod = sim.member("mo", moderator=True)
    helper = sim.member("hana", roles=["moderator"])

    before = await sim.slash(helper, "config timezone", name="Europe/Berlin")
    assert "Only moderators" in before.content

    await sim.slash(mod, "config role", kind="moderator", role=sim.guild.role("moderator"))
    after = await sim.slash(helper, "config timezone", name="Europe/Berlin")

    assert after.content == "Server time zone: Europe/Berlin."
    assert (await sim.services.guild_settings.get(sim.guild.id)).timezone == "Europe/Berlin"


async def test_a_dropped_gateway_connection_in_the_middle_of_a_scenario(sim):
    mod = sim.member("mo", moderator=True)
    await sim.slash(mod, "config time", kind="daily_challenge", time="07:30")

    await sim.drop_gateway()
    assert sim.server.gateway.resumes == 1
    assert sim.server.gateway.identifies == 1  # resumed the session, did not start a new one

    reply = await sim.slash(mod, "config view")
    assert "**Daily challenge**: 07:30" in reply.embeds[0]["fields"][2]["value"]
    assert sim.bot.is_ready()


async def test_an_expired_session_makes_the_bot_identify_again(sim):
    mod = sim.member("mo", moderator=True)
    await sim.slash(mod, "config timezone", name="Asia/Tokyo")
    await sim.expire_session()
    assert sim.server.gateway.identifies == 2
    reply = await sim.slash(mod, "config view")
    assert "Asia/Tokyo" in reply.embeds[0]["fields"][2]["value"]


async def test_an_interaction_sent_while_the_connection_is_down_arrives_after_resume(sim):
    mod = sim.member("mo", moderator=True)
    await sim.server.gateway.drop()
    # Sent before the bot is back: Discord queues it and replays it on RESUME.
    reply = await sim.slash(mod, "config timezone", name="Asia/Kolkata")
    assert reply.content == "Server time zone: Asia/Kolkata."


async def settings_rows(sim) -> int:
    return await sim.services.db.fetch_value("SELECT count(*) FROM guild_settings")


@pytest.mark.parametrize(
    ("command", "options", "expected"),
    [
        ("config timezone", {"name": "Mars/Olympus_Mons"}, "is not a time zone I know"),
        ("config timezone", {"name": "x" * 500}, "is not a time zone I know"),
        ("config timezone", {"name": "   "}, "is not a time zone I know"),
        ("config time", {"kind": "digest", "time": "25:99"}, "is not a time of day"),
        ("config time", {"kind": "digest", "time": "9h30"}, "is not a time"),
        ("config time", {"kind": "digest", "time": "'; DROP TABLE guild_settings; --"}, "not a"),
        ("config channel", {"kind": "qa", "channel": 123456789}, "is not a valid channel"),
        ("config role", {"kind": "reviewer", "role": 987654321}, "is not a valid role"),
    ],
)
async def test_config_bad_input_gets_a_clear_answer_and_writes_nothing(
    sim, command, options, expected
):
    mod = sim.member("mo", moderator=True)
    r = await sim.slash(mod, command, **options)
    assert r.ephemeral
    assert expected in r.content
    assert len(r.content) < 300
    assert await settings_rows(sim) == 0


async def test_config_forum_channel_only_for_reviews(sim):
    mod = sim.member("mo", moderator=True)
    forum = sim.guild.channel("forum-reviews")
    refused = await sim.slash(mod, "config channel", kind="qa", channel=forum)
    assert refused.content == "Only portfolio reviews can go to a forum channel."
    assert await settings_rows(sim) == 0
    accepted = await sim.slash(mod, "config channel", kind="review", channel=forum)
    assert f"<#{forum}>" in accepted.content


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("config view", {}),
        ("config timezone", {"name": "Europe/Paris"}),
        ("config time", {"kind": "daily_challenge", "time": "08:00"}),
        ("config role", {"kind": "moderator", "role": "moderator"}),
    ],
)
async def test_config_is_refused_to_members_without_permission(sim, command, options):
    rita = sim.member("rita", roles=["reviewer"])
    if options.get("role") == "moderator":
        options = {**options, "role": sim.guild.role("moderator")}
    r = await sim.slash(rita, command, **options)
    assert r.ephemeral and r.content.startswith("Only moderators")
    assert await settings_rows(sim) == 0


async def test_config_timezone_autocompletes(sim):
    mod = sim.member("mo", moderator=True)
    choices = await sim.autocomplete(mod, "config timezone", focused="name", name="kolk")
    assert [c["value"] for c in choices] == ["Asia/Kolkata"]
    assert len(await sim.autocomplete(mod, "config timezone", focused="name", name="")) == 25
