"""The maintained streaks, totals and counters equal a recomputation from history."""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.errors import DomainError
from bot.services.roadmap import RoadmapService
from bot.wiring import Services

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland", "UTC"]
GUILD = 1


async def random_history(services: Services, clock: FixedClock, seed: int) -> None:
    """A few members doing what members do, day by day, for a few months.

    Mostly daily check-ins (so streaks grow, earn freezes and spend them), with skipped
    days, several check-ins a day, travel (zone changes), goal changes, pauses, milestones
    ticked and undone, and edits, all through the real service.
    """
    rng = random.Random(seed)
    roadmap = services.roadmap
    users = list(range(100, 100 + rng.randrange(2, 5)))
    keys: dict[int, list[str]] = {}
    content = await roadmap.catalog.get(GUILD)
    for user in users:
        track = rng.choice(["ai_engineer", "ml_engineer"])
        await roadmap.members.start(GUILD, user, track, None, rng.choice(ZONES))
        keys[user] = [m.key for m in content.milestones_for(track)]
    diligence = {u: rng.uniform(0.6, 0.97) for u in users}
    for _ in range(rng.randrange(50, 110)):
        events = []
        for user in users:
            if rng.random() < diligence[user]:
                events += [(rng.randrange(1440), user, "checkin")] * rng.choice([1, 1, 1, 2])
            if rng.random() < 0.05:
                events.append(
                    (
                        rng.randrange(1440),
                        user,
                        rng.choice(
                            ["zone", "goal", "pause", "resume", "resume", "milestone", "edit"]
                        ),
                    )
                )
        start = clock.now()
        for minute, user, action in sorted(events):
            clock.set(max(clock.now(), start + timedelta(minutes=minute)))
            # Refusals (paused, not paused, nothing to edit today) write nothing.
            with contextlib.suppress(DomainError):
                await act(roadmap, rng, user, action, keys[user])
        clock.set(start + timedelta(days=1))


async def act(
    roadmap: RoadmapService, rng: random.Random, user: int, action: str, keys: list[str]
) -> None:
    if action == "checkin":
        milestone = rng.choice(keys) if rng.random() < 0.1 else None
        await roadmap.checkins.checkin(
            GUILD, user, "worked", str(rng.randrange(0, 200)), milestone=milestone
        )
    elif action == "zone":
        await roadmap.members.set_timezone(GUILD, user, rng.choice(ZONES))
    elif action == "goal":
        await roadmap.members.set_goal(GUILD, user, rng.choice([7, 7, 5, 4, 3]))
    elif action == "pause":
        await roadmap.members.pause(GUILD, user)
    elif action == "resume":
        await roadmap.members.resume(GUILD, user)
    elif action == "milestone":
        await roadmap.members.set_milestone(GUILD, user, rng.choice(keys), rng.random() < 0.6)
    else:
        today = await roadmap.checkins.todays(GUILD, user)
        await roadmap.checkins.edit(
            GUILD, user, today.id, "edited", str(rng.randrange(300)), None, None
        )


@pytest.mark.parametrize("seed", range(8))
async def test_incremental_state_equals_recomputation(
    services: Services, clock: FixedClock, seed: int
) -> None:
    await random_history(services, clock, seed)
    assert await services.db.fetch_value("SELECT count(*) FROM roadmap_checkins") > 50
    assert await services.db.fetch_value("SELECT max(best_streak) FROM roadmap_members") >= 7
    report = await services.roadmap.maintenance.recompute(fix=False)
    assert report.members >= 2
    assert report.differences == ()
    assert report.repaired == 0


async def test_recompute_repairs_drift(services: Services, clock: FixedClock) -> None:
    await random_history(services, clock, seed=99)
    await services.db.execute(
        "UPDATE roadmap_members SET current_streak = current_streak + 5, checkins_total = 0"
    )
    await services.db.execute("UPDATE roadmap_period_stats SET days = days + 1")
    report = await services.roadmap.maintenance.recompute(GUILD)
    assert report.repaired == report.members
    assert any("current_streak" in d for d in report.differences)
    again = await services.roadmap.maintenance.recompute(GUILD, fix=False)
    assert again.differences == ()
