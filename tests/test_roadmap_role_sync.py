"""The role sync's policy, on a real database, with Discord played by a fake gateway."""

from __future__ import annotations

from bot.clock import FixedClock
from bot.services.roadmap.role_sync import MemberGone, RoleRefused
from bot.wiring import Services
from tests.test_roadmap_service import ALICE, BOB, G, enrol

PHASE_ROLE = 5001


class FakeDiscord:
    """Roles as Discord would have them; records every call that changes a member."""

    def __init__(self) -> None:
        self.available = True
        self.held: dict[int, set[int]] = {ALICE: set(), BOB: set()}
        self.refuses: set[int] = set()
        self.dangerous: set[int] = set()
        self.calls: list[tuple[str, int, int]] = []

    def ready(self, guild_id: int) -> bool:
        return self.available

    def dangerous_now(self, guild_id: int, role_ids: set[int]) -> set[int]:
        return role_ids & self.dangerous

    async def is_dangerous(self, guild_id: int, role_id: int) -> bool:
        return role_id in self.dangerous

    async def member_roles(self, guild_id: int, user_id: int) -> set[int]:
        if user_id not in self.held:
            raise MemberGone()
        return set(self.held[user_id])

    async def add(self, guild_id: int, user_id: int, role_id: int) -> None:
        self.calls.append(("add", user_id, role_id))
        if role_id in self.refuses:
            raise RoleRefused()
        self.held[user_id].add(role_id)

    async def remove(self, guild_id: int, user_id: int, role_id: int) -> None:
        self.calls.append(("remove", user_id, role_id))
        self.held[user_id].discard(role_id)


async def recorded(services: Services, user: int) -> tuple[int | None, int]:
    row = await services.db.fetch_one(
        "SELECT phase_role_id, roles_granted FROM roadmap_members WHERE user_id = ?", (user,)
    )
    return row["phase_role_id"], row["roles_granted"]


async def setup_members(services: Services) -> None:
    await enrol(services)
    await enrol(services, user=BOB)
    await services.roadmap.roles.set_mapping(G, "phase", 1, PHASE_ROLE)


async def test_roles_are_given_and_recorded(services: Services, clock: FixedClock) -> None:
    await setup_members(services)
    discord = FakeDiscord()
    await services.roadmap.role_sync.run(clock.now(), discord)
    assert sorted(discord.calls) == [("add", ALICE, PHASE_ROLE), ("add", BOB, PHASE_ROLE)]
    assert await recorded(services, ALICE) == (PHASE_ROLE, 1)
    await services.roadmap.role_sync.run(clock.now(), discord)
    assert len(discord.calls) == 2  # nothing left to do


async def test_a_refused_role_is_tried_once_stopped_and_not_recorded(
    services: Services, clock: FixedClock
) -> None:
    await setup_members(services)
    discord = FakeDiscord()
    discord.refuses.add(PHASE_ROLE)
    await services.roadmap.role_sync.run(clock.now(), discord)
    assert len(discord.calls) == 1  # the second member is not tried in the same run
    assert await recorded(services, ALICE) == (None, 0)
    assert await recorded(services, BOB) == (None, 0)
    assert [m.broken for m in await services.roadmap.roles.mappings(G)] == [True]
    (notice,) = await services.roadmap.roles.notices_due()
    assert (notice.role_id, notice.why) == (PHASE_ROLE, "refused")


async def test_a_role_already_held_is_recorded_as_held_not_given(
    services: Services, clock: FixedClock
) -> None:
    await setup_members(services)
    discord = FakeDiscord()
    discord.held[ALICE].add(PHASE_ROLE)
    await services.roadmap.role_sync.run(clock.now(), discord)
    assert discord.calls == [("add", BOB, PHASE_ROLE)]
    assert await recorded(services, ALICE) == (PHASE_ROLE, 0)  # never ours to take away


async def test_a_member_who_left_holds_nothing_from_us(
    services: Services, clock: FixedClock
) -> None:
    await setup_members(services)
    discord = FakeDiscord()
    del discord.held[BOB]
    await services.roadmap.role_sync.run(clock.now(), discord)
    assert discord.calls == [("add", ALICE, PHASE_ROLE)]
    assert await recorded(services, BOB) == (None, 0)
    assert await services.roadmap.roles.due_changes(clock.now(), 10) == []


async def test_a_dangerous_role_is_suspended_never_given_and_audited_daily(
    services: Services, clock: FixedClock
) -> None:
    await setup_members(services)
    discord = FakeDiscord()
    discord.available = False  # the server's roles can't be read yet: nothing happens
    await services.roadmap.role_sync.run(clock.now(), discord)
    assert discord.calls == []
    assert not (await services.roadmap.roles.mappings(G))[0].suspended
    discord.available = True
    discord.dangerous.add(PHASE_ROLE)
    await services.roadmap.role_sync.run(clock.now(), discord)
    assert discord.calls == []
    assert (await services.roadmap.roles.mappings(G))[0].suspended
    (notice,) = await services.roadmap.roles.notices_due()
    assert (notice.role_id, notice.why) == (PHASE_ROLE, "suspended")
