"""The streak rules on their own: days, freezes, weekly goals, pauses, DST and travel."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.roadmap.streaks import (
    Outcome,
    Pauses,
    StreakRules,
    StreakState,
    apply_checkin,
    breaks_at,
    replay,
    standing,
)

RULES = StreakRules(freeze_every=7, max_freezes=2)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NO_PAUSES = Pauses()


def at(day: date, hour: int = 20, minute: int = 0, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def run(days: list[date], goal: int = 7, pauses: Pauses = NO_PAUSES, zone=BERLIN) -> StreakState:
    steps = replay([(d, at(d, zone=zone), goal) for d in days], pauses, RULES)
    return steps[-1].state


def daily(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


MONDAY = date(2026, 3, 2)


def test_consecutive_days_build_a_streak_and_several_checkins_a_day_count_once() -> None:
    days = [MONDAY, MONDAY, MONDAY + timedelta(1), MONDAY + timedelta(1), MONDAY + timedelta(2)]
    steps = replay([(d, at(d), 7) for d in days], NO_PAUSES, RULES)
    assert [s.outcome for s in steps] == [
        Outcome.STARTED,
        Outcome.SAME_DAY,
        Outcome.KEPT,
        Outcome.SAME_DAY,
        Outcome.KEPT,
    ]
    assert steps[-1].state.current == 3
    assert steps[-1].state.best == 3


def test_a_missed_day_without_freezes_breaks_the_streak_but_keeps_the_best() -> None:
    state = run([*daily(MONDAY, 5), MONDAY + timedelta(6)])
    assert state.current == 1
    assert state.best == 5
    assert state.run_start == MONDAY + timedelta(6)


def test_freezes_are_earned_every_seven_days_and_capped_at_two() -> None:
    assert run(daily(MONDAY, 6)).freezes == 0
    assert run(daily(MONDAY, 7)).freezes == 1
    assert run(daily(MONDAY, 14)).freezes == 2
    assert run(daily(MONDAY, 21)).freezes == 2


def test_a_missed_day_spends_a_freeze_and_the_streak_holds() -> None:
    days = [*daily(MONDAY, 7), MONDAY + timedelta(8)]  # the eighth day is missed
    steps = replay([(d, at(d), 7) for d in days], NO_PAUSES, RULES)
    last = steps[-1]
    assert last.outcome is Outcome.HELD
    assert last.freezes_spent == 1
    assert last.state.current == 8
    assert last.state.freezes == 0


def test_two_missed_days_with_one_freeze_break_the_streak() -> None:
    days = [*daily(MONDAY, 7), MONDAY + timedelta(9)]
    last = replay([(d, at(d), 7) for d in days], NO_PAUSES, RULES)[-1]
    assert last.outcome is Outcome.BROKE
    assert last.state.current == 1
    assert last.state.freezes == 0


def test_weekly_goal_forgives_rest_days() -> None:
    # Goal 4: Mon, Wed, Fri, Sat each week for three weeks; never more than 2 days apart.
    pattern = [0, 2, 4, 5]
    days = [MONDAY + timedelta(weeks=w, days=d) for w in range(3) for d in pattern]
    state = run(days, goal=4)
    assert state.current == 12
    assert state.freezes == 1  # earned at 7 streak days
    # The same days in daily mode would have broken every week.
    assert run(days, goal=7).current < 12


def test_weekly_goal_missed_by_more_than_the_freezes_breaks() -> None:
    week1 = [MONDAY + timedelta(d) for d in (0, 1, 2, 3)]
    week2 = [MONDAY + timedelta(7 + d) for d in (0, 1)]  # only 2 of 4
    week3 = [MONDAY + timedelta(14)]
    steps = replay([(d, at(d), 4) for d in week1 + week2 + week3], NO_PAUSES, RULES)
    assert steps[-1].outcome is Outcome.BROKE
    assert steps[-1].missed == 2


def test_weekly_shortfall_within_the_freezes_is_held() -> None:
    weeks = [MONDAY + timedelta(weeks=w, days=d) for w in range(2) for d in (0, 1, 2, 3)]
    short = [MONDAY + timedelta(14 + d) for d in (0, 1, 2)]  # 3 of 4
    steps = replay(
        [(d, at(d), 4) for d in weeks + short + [MONDAY + timedelta(21)]], NO_PAUSES, RULES
    )
    assert steps[-1].outcome is Outcome.HELD
    assert steps[-1].freezes_spent == 1


def test_the_first_week_only_asks_for_the_days_left_after_starting() -> None:
    saturday = MONDAY + timedelta(5)
    days = [saturday, saturday + timedelta(1), MONDAY + timedelta(7)]
    assert replay([(d, at(d), 5) for d in days], NO_PAUSES, RULES)[-1].outcome is Outcome.KEPT


def test_paused_days_are_excused() -> None:
    pauses = Pauses([(MONDAY + timedelta(3), MONDAY + timedelta(9))])
    days = [*daily(MONDAY, 3), MONDAY + timedelta(10)]
    steps = replay([(d, at(d), 7) for d in days], pauses, RULES)
    assert steps[-1].outcome is Outcome.KEPT
    assert steps[-1].state.current == 4


def test_an_open_pause_never_breaks_the_streak() -> None:
    state = run(daily(MONDAY, 3))
    pauses = Pauses([(MONDAY + timedelta(3), None)])
    assert breaks_at(state, 7, pauses, BERLIN) is None
    later = at(MONDAY + timedelta(60))
    assert standing(state, later, MONDAY + timedelta(60), 7, pauses, BERLIN).current == 3


@pytest.mark.parametrize(
    ("zone", "before_change"),
    [
        ("Europe/Berlin", date(2026, 3, 28)),  # clocks go forward on Sunday 29 March
        ("Europe/Berlin", date(2026, 10, 24)),  # back on 25 October
        ("America/New_York", date(2026, 3, 7)),  # forward on 8 March
        ("America/New_York", date(2026, 10, 31)),  # back on 1 November
    ],
)
def test_dst_changes_neither_break_nor_stretch_a_daily_streak(
    zone: str, before_change: date
) -> None:
    tz = ZoneInfo(zone)
    # Late on the day before the change, then just after midnight twice: consecutive days.
    late = at(before_change, 23, 59, tz)
    early = at(before_change + timedelta(1), 0, 1, tz)
    next_early = at(before_change + timedelta(2), 0, 1, tz)
    steps = replay(
        [
            (before_change, late, 7),
            (before_change + timedelta(1), early, 7),
            (before_change + timedelta(2), next_early, 7),
        ],
        NO_PAUSES,
        RULES,
    )
    assert [s.outcome for s in steps] == [Outcome.STARTED, Outcome.KEPT, Outcome.KEPT]
    # And skipping the changeover day really is a missed day.
    skipped = replay(
        [(before_change, late, 7), (before_change + timedelta(2), next_early, 7)], NO_PAUSES, RULES
    )
    assert skipped[-1].outcome is Outcome.BROKE


def test_flying_east_across_the_date_line_keeps_the_streak() -> None:
    la, auckland = ZoneInfo("America/Los_Angeles"), ZoneInfo("Pacific/Auckland")
    day1 = date(2026, 3, 4)
    first = at(day1, 20, 0, la)
    # 15 hours later it is already the 6th in Auckland: the 5th never happened for them.
    landed = first + timedelta(hours=15)
    landed_day = landed.astimezone(auckland).date()
    assert landed_day == day1 + timedelta(2)
    steps = replay([(day1, first, 7), (landed_day, landed, 7)], NO_PAUSES, RULES)
    assert steps[-1].outcome is Outcome.KEPT


def test_flying_west_repeats_a_date_without_harm() -> None:
    tokyo, la = ZoneInfo("Asia/Tokyo"), ZoneInfo("America/Los_Angeles")
    day = date(2026, 3, 6)
    in_tokyo = at(day, 8, 0, tokyo)
    in_la = in_tokyo + timedelta(hours=3)  # a short hop: still the 5th in Los Angeles
    steps = replay(
        [
            (day, in_tokyo, 7),
            (in_la.astimezone(la).date(), in_la, 7),  # the 5th again
            (day + timedelta(1), at(day + timedelta(1), 20, 0, la), 7),
        ],
        NO_PAUSES,
        RULES,
    )
    assert [s.outcome for s in steps] == [Outcome.STARTED, Outcome.EARLIER, Outcome.KEPT]
    assert steps[-1].state.current == 2


def test_standing_shows_a_broken_streak_as_zero_and_spends_freezes_as_days_pass() -> None:
    state = run(daily(MONDAY, 8))  # one freeze
    last = MONDAY + timedelta(7)
    next_day = last + timedelta(1)
    assert standing(state, at(next_day, 12), next_day, 7, NO_PAUSES, BERLIN).freezes == 1
    two_later = last + timedelta(2)
    held = standing(state, at(two_later, 12), two_later, 7, NO_PAUSES, BERLIN)
    assert (held.current, held.freezes, held.alive) == (8, 0, True)
    three_later = last + timedelta(3)
    broken = standing(state, at(three_later, 12), three_later, 7, NO_PAUSES, BERLIN)
    assert (broken.current, broken.alive) == (0, False)


@pytest.mark.parametrize("seed", range(6))
def test_breaks_at_agrees_with_the_next_checkin(seed: int) -> None:
    """A check-in at any instant breaks the streak exactly when it is at or after breaks_at."""
    rng = random.Random(seed)
    zone = ZoneInfo(rng.choice(["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]))
    goal = rng.choice([7, 7, 5, 3])
    day = date(2026, 1, 5) + timedelta(days=rng.randrange(300))
    history = []
    for _ in range(rng.randrange(5, 40)):
        day += timedelta(days=rng.choice([1, 1, 1, 2, 3]))
        history.append((day, at(day, rng.randrange(24), rng.randrange(60), zone), goal))
    state = replay(history, NO_PAUSES, RULES)[-1].state
    end = breaks_at(state, goal, NO_PAUSES, zone)
    assert end is not None
    for minutes in range(0, 60 * 24 * 30, 97):
        when = history[-1][1] + timedelta(minutes=minutes)
        when_day = when.astimezone(zone).date()
        if when_day <= state.last_date:
            continue
        step = apply_checkin(state, when_day, when, goal, NO_PAUSES, RULES)
        assert (step.outcome is Outcome.BROKE) == (when >= end), (when, end, step)
