"""/config end to end: the real bot, real discord.py, a simulated Discord."""

from __future__ import annotations


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


async def test_an_interaction_sent_while_the_connection_is_down_arrives_after_resume(sim):
    mod = sim.member("mo", moderator=True)
    await sim.server.gateway.drop()
    # Sent before the bot is back: Discord queues it and replays it on RESUME.
    reply = await sim.slash(mod, "config timezone", name="Asia/Kolkata")
    assert reply.content == "Server time zone: Asia/Kolkata."
