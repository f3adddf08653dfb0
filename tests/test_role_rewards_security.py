"""Role rewards cannot escalate privileges: Discord's hierarchy, dangerous roles, suspension."""

from __future__ import annotations

from datetime import UTC, datetime

from simulator.state import ADMINISTRATOR, MANAGE_MESSAGES, MANAGE_ROLES

BAN_MEMBERS = 1 << 2
MEMBER_ROLE = "/guilds/{guild_id}/members/{user_id}/roles/{role_id}"


async def stored_mappings(sim) -> str:
    """The server's mappings as the bot stores them (for assertions)."""
    return repr(await sim.services.roadmap.roles.mappings(sim.guild.id))


async def enrol(sim, user) -> None:
    reply = await sim.slash(user, "roadmap start", track="ai_engineer", timezone="UTC")
    assert "Welcome" in reply.content, reply.content


async def tick(sim, *args: int) -> None:
    sim.clock.set(datetime(*args, tzinfo=UTC))
    await sim.run_scheduler()


async def test_a_moderator_role_without_permissions_cannot_map_an_administrator_role(sim):
    """The reproduction: only the configured moderator role, no permissions of its own."""
    owner = sim.owner
    await sim.slash(owner, "config role", kind="moderator", role=sim.guild.role("moderator"))
    mallory = sim.member("mallory", roles=["moderator"])
    admin = await sim.add_role("Admins", ADMINISTRATOR, position=10)
    refused = await sim.slash(mallory, "roadmap role", kind="phase", level=1, role=admin.id)
    assert refused.ephemeral and "Manage Roles" in refused.content
    assert await sim.services.roadmap.roles.mappings(sim.guild.id) == []
    await enrol(sim, mallory)
    await tick(sim, 2026, 3, 2, 11, 0)
    assert admin.id not in sim.member_roles(mallory)
    assert sim.server.count_calls("PUT", MEMBER_ROLE) == 0


async def test_mapping_follows_the_hierarchy_and_never_takes_a_dangerous_role(sim):
    owner = sim.owner
    manager = sim.member("manager", moderator=True)
    managers = await sim.add_role("Role managers", MANAGE_ROLES, position=20)
    sim.give_role(manager, managers.id)
    low = await sim.add_role("Learners", position=10)
    high = await sim.add_role("Seniors", position=30)
    no_perms = sim.member("mo", moderator=True)  # Manage Server, but not Manage Roles
    refused = await sim.slash(no_perms, "roadmap role", kind="phase", level=1, role=low.id)
    assert "Manage Roles" in refused.content
    above = await sim.slash(manager, "roadmap role", kind="phase", level=2, role=high.id)
    assert "not below your highest role" in above.content
    mapped = await sim.slash(manager, "roadmap role", kind="phase", level=1, role=low.id)
    assert f"Phase 1: <@&{low.id}>" in mapped.content
    # Taking the mapping over (or away) touches the old role too: the owner may.
    by_owner = await sim.slash(owner, "roadmap role", kind="phase", level=1, role=high.id)
    assert f"Phase 1: <@&{high.id}>" in by_owner.content
    unmap = await sim.slash(manager, "roadmap role", kind="phase", level=1)
    assert "not below your highest role" in unmap.content
    for permission in (ADMINISTRATOR, MANAGE_ROLES, MANAGE_MESSAGES, BAN_MEMBERS):
        dangerous = await sim.add_role(f"Danger {permission}", permission, position=5)
        answer = await sim.slash(owner, "roadmap role", kind="streak", level=7, role=dangerous.id)
        assert answer.ephemeral and "can't be a reward" in answer.content
    assert "STREAK" not in await stored_mappings(sim)


async def test_a_role_that_becomes_dangerous_is_suspended_and_reported_once(sim):
    owner, alice, bob = sim.owner, sim.member("alice"), sim.member("bob")
    qa = sim.guild.channel("qa")
    await sim.slash(owner, "config channel", kind="qa", channel=qa)
    learners = await sim.add_role("Learners", position=10)
    await sim.slash(owner, "roadmap role", kind="phase", level=1, role=learners.id)
    await enrol(sim, alice)
    await tick(sim, 2026, 3, 2, 11, 0)
    assert learners.id in sim.member_roles(alice)

    await sim.update_role(learners, permissions=ADMINISTRATOR)  # an admin changes the role
    await enrol(sim, bob)
    await tick(sim, 2026, 3, 2, 11, 1)  # the grant re-checks the role: Bob is not given it
    assert learners.id not in sim.member_roles(bob)
    assert learners.id in sim.member_roles(alice)  # suspended: not taken away either
    (notice,) = sim.messages(qa)
    assert f"<@&{learners.id}>" in notice.content and "Administrator" in notice.content
    assert "suspended" in notice.content
    for minute in range(2, 5):
        await tick(sim, 2026, 3, 2, 11, minute)
    await tick(sim, 2026, 3, 3, 11, 0)  # the next day's re-check: still told only once
    assert len(sim.messages(qa)) == 1
    assert "suspended=True" in await stored_mappings(sim)

    await sim.update_role(learners, permissions=0)
    again = await sim.slash(owner, "roadmap role", kind="phase", level=1, role=learners.id)
    assert "suspended" not in again.content
    await tick(sim, 2026, 3, 3, 11, 5)
    assert learners.id in sim.member_roles(bob)


async def test_a_mapping_that_became_dangerous_while_the_bot_was_off_is_suspended_at_start_up(
    sim,
):
    owner, alice = sim.owner, sim.member("alice")
    learners = await sim.add_role("Learners", position=10)
    await sim.slash(owner, "roadmap role", kind="phase", level=1, role=learners.id)
    await sim.stop_bot()
    learners.permissions = ADMINISTRATOR  # changed while the bot was away
    await sim.start_bot()
    await tick(sim, 2026, 3, 2, 11, 0)  # the first tick checks every mapping
    assert "suspended=True" in await stored_mappings(sim)
    await enrol(sim, alice)
    await tick(sim, 2026, 3, 2, 11, 1)
    assert learners.id not in sim.member_roles(alice)


async def test_changing_a_mapping_never_takes_away_a_role_the_bot_did_not_grant(sim):
    owner, alice, bob = sim.owner, sim.member("alice"), sim.member("bob")
    verified = await sim.add_role("Verified", position=10)
    builders = await sim.add_role("Builders", position=11)
    sim.give_role(alice, verified.id)  # given by an admin long ago
    await sim.slash(owner, "roadmap role", kind="phase", level=1, role=verified.id)
    await enrol(sim, alice)
    await enrol(sim, bob)
    await tick(sim, 2026, 3, 2, 11, 0)
    assert verified.id in sim.member_roles(alice) and verified.id in sim.member_roles(bob)
    await sim.slash(owner, "roadmap role", kind="phase", level=1, role=builders.id)
    await tick(sim, 2026, 3, 2, 11, 1)
    assert builders.id in sim.member_roles(alice) and builders.id in sim.member_roles(bob)
    assert verified.id in sim.member_roles(alice)  # the admin's grant stays
    assert verified.id not in sim.member_roles(bob)  # the bot's own grant is taken back


async def test_a_role_notice_that_discord_fails_is_sent_later_and_once(sim):
    """The notice goes through the delivery helper: a server error is retried after a
    back-off (before, the notice was lost), and it is never sent twice."""
    owner, alice = sim.owner, sim.member("alice")
    qa = sim.guild.channel("qa")
    await sim.slash(owner, "config channel", kind="qa", channel=qa)
    learners = await sim.add_role("Learners", position=10)
    await sim.slash(owner, "roadmap role", kind="phase", level=1, role=learners.id)
    await enrol(sim, alice)
    await sim.update_role(learners, permissions=ADMINISTRATOR)
    sim.fail_next("POST", "/channels/{channel_id}/messages", status=503)
    await tick(sim, 2026, 3, 2, 11, 0)  # suspended at the audit; Discord fails the notice
    assert "suspended=True" in await stored_mappings(sim)
    assert sim.messages(qa) == []
    await tick(sim, 2026, 3, 2, 11, 2)  # after the back-off
    (notice,) = sim.messages(qa)
    assert f"<@&{learners.id}>" in notice.content and "Administrator" in notice.content
    assert "suspended" in notice.content
    for minute in range(3, 10):
        await tick(sim, 2026, 3, 2, 11, minute)
    assert len(sim.messages(qa)) == 1
