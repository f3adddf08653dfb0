"""Buddies, reminders, the weekly digest and roles end to end, across restarts and downtime."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from simulator.state import MANAGE_ROLES


async def enrol(sim, user, **options):
    reply = await sim.slash(user, "roadmap start", track="ai_engineer", **options)
    assert "Welcome" in reply.content, reply.content


async def at(sim, *args: int) -> None:
    """Move the clock to a UTC instant and run one scheduler tick."""
    sim.clock.set(datetime(*args, tzinfo=UTC))
    await sim.run_scheduler()


# --- /buddy -----------------------------------------------------------------------------------


async def test_buddy_request_accept_status_end_and_bad_requests(sim):
    alice, bob = sim.member("alice"), sim.member("bob")
    await enrol(sim, alice)
    await enrol(sim, bob)
    myself = await sim.slash(alice, "buddy request", member=alice)
    assert myself.ephemeral and "your own buddy" in myself.content
    bot_user = sim.server.state.bot_user
    robot = await sim.slash(alice, "buddy request", member=bot_user)
    assert robot.ephemeral and "Bots don't check in" in robot.content
    asked = await sim.slash(alice, "buddy request", member=bob)
    assert not asked.ephemeral and asked.content.startswith(f"<@{bob.id}>, <@{alice.id}>")
    assert asked.message.pinged_user_ids == {bob.id}  # the ping is the point; nobody else
    pending = await sim.slash(bob, "buddy status")
    assert f"Waiting for your answer: <@{alice.id}>" in pending.content
    accepted = await sim.slash(bob, "buddy accept")
    assert "are now accountability buddies" in accepted.content
    status = await sim.slash(alice, "buddy status")
    assert f"Your buddy: <@{bob.id}>" in status.content
    ended = await sim.slash(alice, "buddy end")
    assert f"<@{bob.id}>" in ended.content
    nothing = await sim.slash(bob, "buddy end")
    assert nothing.ephemeral and "don't have a buddy" in nothing.content
    none_waiting = await sim.slash(bob, "buddy accept")
    assert "No buddy request" in none_waiting.content
    # Refusals name the other member with a mention that pings nobody.
    carol = sim.member("carol")
    outsider = await sim.slash(alice, "buddy request", member=carol)
    assert outsider.ephemeral
    assert outsider.content.startswith(f"<@{carol.id}> isn't on the roadmap yet")
    assert outsider.message.pinged_user_ids == set()
    not_asked = await sim.slash(bob, "buddy accept", member=carol)
    assert not_asked.content == f"<@{carol.id}> has no buddy request waiting for you."


async def test_buddy_nudge_after_two_missed_days_is_sent_once_even_across_a_restart(sim):
    alice, bob = sim.member("alice"), sim.member("bob")
    await enrol(sim, alice, timezone="Europe/Berlin")
    await enrol(sim, bob, timezone="Europe/Berlin")
    await sim.slash(alice, "checkin", note="monday")
    await sim.slash(bob, "checkin", note="monday")
    await sim.slash(alice, "buddy request", member=bob)
    await sim.slash(bob, "buddy accept")
    await sim.slash(bob, "checkin", note="tuesday")  # bob keeps going, alice stops
    await at(sim, 2026, 3, 4, 20, 0)  # Wednesday evening: only one day missed so far
    await sim.slash(bob, "checkin", note="wednesday")
    assert sim.dms(bob) == []
    await at(sim, 2026, 3, 4, 23, 1)  # Thursday 00:01 in Berlin: Tue and Wed missed
    (nudge,) = sim.dms(bob)
    assert f"<@{alice.id}> hasn't checked in for two days" in nudge.content
    await sim.restart_bot()
    await at(sim, 2026, 3, 5, 12, 0)
    assert len(sim.dms(bob)) == 1
    assert sim.dms(alice) == []  # bob checked in every day


# --- /remind ----------------------------------------------------------------------------------


async def test_reminder_by_dm_only_on_days_without_a_checkin_once_across_restart(sim):
    alice = sim.member("alice")
    await enrol(sim, alice, timezone="Asia/Kolkata")  # UTC+5:30
    on = await sim.slash(alice, "remind on", time="20:00", quiet="23:00-07:00")
    assert "Reminders on: 20:00 (Asia/Kolkata)" in on.content
    await at(sim, 2026, 3, 2, 14, 29)  # 19:59 in Kolkata
    assert sim.dms(alice) == []
    await at(sim, 2026, 3, 2, 14, 30)
    (first,) = sim.dms(alice)
    assert "Time for today's check-in" in first.content
    await sim.restart_bot()
    await at(sim, 2026, 3, 2, 14, 31)
    assert len(sim.dms(alice)) == 1
    sim.clock.set(datetime(2026, 3, 3, 5, 0, tzinfo=UTC))  # Tuesday 10:30 in Kolkata
    await sim.slash(alice, "checkin", note="done early")
    await at(sim, 2026, 3, 3, 14, 30)
    assert len(sim.dms(alice)) == 1  # checked in today: no reminder
    await at(sim, 2026, 3, 4, 14, 30)
    assert len(sim.dms(alice)) == 2
    off = await sim.slash(alice, "remind off")
    assert off.content == "Reminders off."
    await at(sim, 2026, 3, 5, 14, 30)
    assert len(sim.dms(alice)) == 2


async def test_a_reminder_that_failed_is_retried_after_a_back_off_and_sent_once(sim):
    alice = sim.member("alice")
    await enrol(sim, alice)
    await sim.slash(alice, "remind on", time="18:00")
    sim.fail_next("POST", "/channels/{channel_id}/messages", status=503)
    await at(sim, 2026, 3, 2, 18, 0)
    sim.take_problems()
    assert sim.dms(alice) == []
    await at(sim, 2026, 3, 2, 18, 0, 30)  # still backing off
    assert sim.dms(alice) == []
    await at(sim, 2026, 3, 2, 18, 1)
    await at(sim, 2026, 3, 2, 18, 2)
    assert len(sim.dms(alice)) == 1


async def test_bad_reminder_settings(sim):
    alice = sim.member("alice")
    before = await sim.slash(alice, "remind on")
    assert "/roadmap start" in before.content
    await enrol(sim, alice)
    for options, expected in [
        ({"time": "8pm"}, "is not a time"),
        ({"time": "25:00"}, "is not a time of day"),
        ({"quiet": "night"}, "is not a range of hours"),
        ({"time": "23:30", "quiet": "22:00-07:00"}, "inside your quiet hours"),
    ]:
        reply = await sim.slash(alice, "remind on", **options)
        assert reply.ephemeral and expected in reply.content, (options, reply.content)
    assert await sim.services.db.fetch_value("SELECT remind_time FROM roadmap_members") is None


async def test_closed_dms_fall_back_to_a_mention_and_stop_after_three_days(sim):
    alice, mod = sim.member("alice"), sim.member("mo", moderator=True)
    channel = sim.guild.channel("checkins")
    await sim.slash(mod, "config channel", kind="checkin", channel=channel)
    await enrol(sim, alice)
    await sim.slash(alice, "remind on", time="18:00")
    sim.close_dms(alice)
    for day in (2, 3, 4, 5):
        await at(sim, 2026, 3, day, 18, 0)
    sim.take_problems()  # the refused DMs (50007) are the point of this test
    posted = [m for m in sim.messages(channel) if m.author_id == sim.server.state.bot_user.id]
    assert len(posted) == 3
    assert all(m.content.startswith(f"<@{alice.id}> Time for today's check-in") for m in posted)
    assert all(m.pinged_user_ids == {alice.id} and not m.pinged_role_ids for m in posted)
    assert "reminders are now off" in posted[-1].content
    assert await sim.services.db.fetch_value("SELECT remind_time FROM roadmap_members") is None


# --- Weekly digest ------------------------------------------------------------------------------


async def test_weekly_digest_once_per_week_late_after_downtime_never_twice(sim):
    alice, bob, mod = sim.member("alice"), sim.member("bob"), sim.member("mo", moderator=True)
    channel = sim.guild.channel("checkins")
    await sim.slash(mod, "config channel", kind="checkin", channel=channel)
    await sim.slash(mod, "config time", kind="digest", time="09:30")
    await sim.slash(mod, "config timezone", name="Europe/Berlin")
    await enrol(sim, alice)
    await enrol(sim, bob)
    for day in range(5):
        sim.clock.set(datetime(2026, 3, 2 + day, 12, 0, tzinfo=UTC))
        await sim.slash(alice, "checkin", note="x", minutes="60")
        if day % 2 == 0:
            await sim.slash(bob, "checkin", note="y")
    await sim.slash(alice, "roadmap milestone", milestone="python-core")

    def digests():
        return [
            m for m in sim.messages(channel) if m.embeds and "Weekly digest" in m.embeds[0]["title"]
        ]

    await at(sim, 2026, 3, 9, 8, 29)  # 09:29 in Berlin
    assert digests() == []
    await at(sim, 2026, 3, 9, 8, 30)
    (posted,) = digests()
    assert not posted.pinged
    embed = posted.embeds[0]
    assert embed["title"] == "Weekly digest · 02 Mar - 08 Mar 2026"
    assert "**8** check-ins from **2** of 2 members" in embed["description"]
    assert "**1** milestones completed" in embed["description"]
    streaks = next(f for f in embed["fields"] if f["name"] == "Longest streaks")["value"]
    assert streaks.splitlines()[0] == f"🔥 <@{alice.id}> · 5 days"
    (name, png) = posted.files[0]
    assert name == "week.png" and png.startswith(b"\x89PNG")
    await sim.restart_bot()
    await at(sim, 2026, 3, 9, 9, 0)
    assert len(digests()) == 1
    # The bot is down from Sunday until Wednesday: the next digest comes late, once.
    await sim.stop_bot()
    sim.clock.set(datetime(2026, 3, 18, 15, 0, tzinfo=UTC))
    await sim.start_bot()
    await sim.run_scheduler()
    await sim.run_scheduler()
    assert len(digests()) == 2
    assert digests()[1].embeds[0]["title"].startswith("Weekly digest · 09 Mar")


async def test_digest_retries_after_a_failed_post(sim):
    alice, mod = sim.member("alice"), sim.member("mo", moderator=True)
    channel = sim.guild.channel("checkins")
    await sim.slash(mod, "config channel", kind="checkin", channel=channel)
    await enrol(sim, alice)
    await sim.slash(alice, "checkin", note="x")
    # 503 is not one of the statuses discord.py retries itself: the job sees the failure.
    sim.fail_next("POST", "/channels/{channel_id}/messages", status=503)
    await at(sim, 2026, 3, 9, 9, 0)
    sim.take_problems()
    assert sim.messages(channel) == []
    await at(sim, 2026, 3, 9, 9, 1)
    titles = [m.embeds[0]["title"] for m in sim.messages(channel) if m.embeds]
    assert titles.count("Weekly digest · 02 Mar - 08 Mar 2026") == 1


# --- Phase and streak roles ---------------------------------------------------------------------


async def role_manager(sim, name: str = "mo"):
    """A moderator who may also manage roles, with a high role (position 40)."""
    mod = sim.member(name, moderator=True)
    managers = await sim.add_role("Role managers", MANAGE_ROLES, position=40)
    sim.give_role(mod, managers.id)
    return mod


async def test_roles_follow_phase_and_streak_and_a_broken_streak_loses_its_role(sim):
    alice, mod = sim.member("alice"), await role_manager(sim)
    phase_one = (await sim.add_role("Foundations", position=10)).id
    week_streak = (await sim.add_role("Week streak", position=11)).id
    refused = await sim.slash(alice, "roadmap role", kind="phase", level=1, role=phase_one)
    assert "Only moderators" in refused.content
    mapped = await sim.slash(mod, "roadmap role", kind="phase", level=1, role=phase_one)
    assert f"Phase 1: <@&{phase_one}>" in mapped.content
    await sim.slash(mod, "roadmap role", kind="streak", level=7, role=week_streak)
    bad = await sim.slash(mod, "roadmap role", kind="streak", level=8, role=week_streak)
    assert "7, 30, 100" in bad.content
    await enrol(sim, alice, timezone="UTC")
    await sim.run_scheduler()
    assert phase_one in sim.member_roles(alice)
    for day in range(7):
        sim.clock.set(datetime(2026, 3, 2 + day, 12, 0, tzinfo=UTC))
        await sim.slash(alice, "checkin", note="x")
    await sim.run_scheduler()
    assert week_streak in sim.member_roles(alice)
    # One freeze (earned on day 7) covers Monday; by Wednesday the streak is gone, with no
    # command from alice: the scheduled sync takes the role away.
    await at(sim, 2026, 3, 10, 12, 0)
    assert week_streak in sim.member_roles(alice)
    await at(sim, 2026, 3, 11, 0, 1)
    assert week_streak not in sim.member_roles(alice)
    assert phase_one in sim.member_roles(alice)


async def test_a_role_discord_refuses_is_reported_to_moderators_once(sim):
    alice, bob, mod = sim.member("alice"), sim.member("bob"), await role_manager(sim)
    qa = sim.guild.channel("qa")
    await sim.slash(mod, "config channel", kind="qa", channel=qa)
    high = await sim.add_role("Soon above the bot", position=10)
    mapped = await sim.slash(mod, "roadmap role", kind="phase", level=1, role=high.id)
    assert f"Phase 1: <@&{high.id}>" in mapped.content
    # An admin moves the role above the bot's own after it was mapped: Discord refuses it.
    await sim.update_role(high, position=99)
    await enrol(sim, alice)
    await enrol(sim, bob)
    for minute in range(3):
        await at(sim, 2026, 3, 2, 11, minute)
    assert (
        sim.server.count_calls("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}") == 1
    )
    sim.take_problems()
    reports = sim.messages(qa)
    assert len(reports) == 1
    assert f"<@&{high.id}>" in reports[0].content and "Manage Roles" in reports[0].content
    view = await sim.slash(mod, "roadmap role", kind="streak", level=30, role=high.id)
    assert "not below your highest role" in view.content
    listed = await sim.slash(mod, "roadmap role", kind="streak", level=30)
    assert "Phase 1" in listed.content and "refused by Discord" in listed.content
    assert high.id not in sim.member_roles(alice)
    assert (
        sim.server.state.guilds[sim.guild.id].permissions_of(sim.server.state.bot_user.id)
        & MANAGE_ROLES
    )


# --- Privacy ------------------------------------------------------------------------------------


async def test_privacy_export_and_erase_include_the_roadmap(sim):
    alice, bob = sim.member("alice"), sim.member("bob")
    await enrol(sim, alice)
    await enrol(sim, bob)
    await sim.slash(alice, "checkin", note="my private notes")
    await sim.slash(alice, "buddy request", member=bob)
    await sim.slash(bob, "buddy accept")
    exported = await sim.slash(alice, "privacy export")
    [(filename, data)] = exported.files
    assert filename.endswith(".json")  # small enough not to be gzipped
    roadmap = json.loads(data)["sections"]["roadmap"]
    assert roadmap["checkins"][0]["did"] == "my private notes"
    assert roadmap["memberships"][0]["buddy_id"] == bob.id
    asked = await sim.slash(alice, "privacy delete")
    await sim.click(alice, asked.message, label="Erase my data")
    db = sim.services.db
    assert await db.fetch_value("SELECT count(*) FROM roadmap_checkins") == 0
    assert (
        await db.fetch_value("SELECT count(*) FROM roadmap_members WHERE user_id = ?", (alice.id,))
        == 0
    )
    status = await sim.slash(bob, "buddy status")
    assert "no buddy yet" in status.content


async def test_a_buddy_request_pings_a_member_once_a_day_however_often_it_is_repeated(sim):
    alice, bob, carol = sim.member("alice"), sim.member("bob"), sim.member("carol")
    for member in (alice, bob, carol):
        await enrol(sim, member)
    first = await sim.slash(alice, "buddy request", member=bob)
    assert not first.ephemeral and first.message.pinged_user_ids == {bob.id}
    again = await sim.slash(alice, "buddy request", member=bob)
    assert again.ephemeral and "won't mention them again" in again.content
    await sim.slash(alice, "buddy request", member=carol)  # switching back and forth...
    back = await sim.slash(alice, "buddy request", member=bob)
    assert back.ephemeral and not back.message.pinged  # ...doesn't ping Bob again
    general = sim.guild.channel("general")
    pings = [m for m in sim.messages(general) if bob.id in m.pinged_user_ids]
    assert len(pings) == 1
    status = await sim.slash(bob, "buddy status")
    assert f"<@{alice.id}>" in status.content  # the request itself is still open
    sim.clock.advance(days=1)
    next_day = await sim.slash(alice, "buddy request", member=bob)
    assert next_day.message.pinged_user_ids == {bob.id}
