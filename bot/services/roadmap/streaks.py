"""The streak rules, as pure functions over plain values (no database, no clock).

A check-in is filed under the member's local date when it was written. Several check-ins on
one local day count once. Two modes, chosen by the weekly goal in force:

- daily (goal 7): every local day counts; each missed day spends a freeze, and the streak
  breaks when a missed day finds no freeze left;
- weekly target (goal N < 7): each ISO week needs N check-in days; a finished week that
  falls short spends one freeze per missing day, and breaks the streak when there are not
  enough.

Days inside a pause are excused. A day only counts as missed when a whole day really
passed (so flying across the date line never costs a streak kept by the member's clock).
A member earns a freeze every `freeze_every` streak days and holds at most `max_freezes`.

`apply_checkin` is used both when a check-in is written and when history is replayed, so
the maintained state and a recomputation always agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.services.roadmap.dates import DAY, WEEK, monday
from bot.timezones import local_midnight

# A day is only missed when this much less than a whole day passed: covers DST jumps (up to
# two hours, Antarctica/Troll) without letting a date-line crossing count as a missed day.
TRAVEL_SLACK = timedelta(hours=3)
DAILY_GOAL = 7
WEEKS_LOOKAHEAD = 520


@dataclass(frozen=True)
class StreakRules:
    freeze_every: int = 7
    max_freezes: int = 2


@dataclass(frozen=True)
class StreakState:
    current: int = 0
    best: int = 0
    freezes: int = 0
    last_date: date | None = None
    last_at: datetime | None = None
    run_start: date | None = None
    week_days: int = 0


class Outcome(StrEnum):
    STARTED = "started"  # first day of a new streak
    KEPT = "kept"  # a new day that continued the streak
    HELD = "held"  # a new day after misses that freezes covered
    BROKE = "broke"  # a new day after misses that broke the streak (restarted at 1)
    SAME_DAY = "same_day"  # another check-in on a day that already counted
    EARLIER = "earlier"  # a local date before the last counted one (travel westwards)


@dataclass(frozen=True)
class Step:
    state: StreakState
    outcome: Outcome
    missed: int = 0  # days missed (daily) or days short of the goal (weekly)
    freezes_spent: int = 0
    earned_freeze: bool = False

    @property
    def counted(self) -> bool:
        return self.outcome in (Outcome.STARTED, Outcome.KEPT, Outcome.HELD, Outcome.BROKE)


class Pauses:
    """Excused local dates: closed [start, end] intervals, and at most one open one."""

    def __init__(self, intervals: Iterable[tuple[date, date | None]] = ()) -> None:
        self.intervals = sorted(intervals)

    def is_excused(self, day: date) -> bool:
        return any(s <= day and (e is None or day <= e) for s, e in self.intervals)

    def count(self, first: date, last: date) -> int:
        """How many dates in [first, last] are excused."""
        if last < first:
            return 0
        covered: list[tuple[date, date]] = []
        for start, end in self.intervals:
            lo, hi = max(start, first), min(end or last, last)
            if lo <= hi:
                covered.append((lo, hi))
        total, reach = 0, first - DAY
        for lo, hi in sorted(covered):
            lo = max(lo, reach + DAY)
            if lo <= hi:
                total += (hi - lo).days + 1
                reach = hi
        return total

    def open_since(self) -> date | None:
        return next((s for s, e in self.intervals if e is None), None)


def _available(week: date, run_start: date, pauses: Pauses) -> int:
    first = max(week, run_start)
    last = week + timedelta(days=6)
    if last < first:
        return 0
    return (last - first).days + 1 - pauses.count(first, last)


def _week_shortfall(state: StreakState, week: date, goal: int, pauses: Pauses) -> int:
    """Days short of the goal in one finished week (the last counted week, or an empty one)."""
    assert state.last_date is not None and state.run_start is not None
    done = state.week_days if week == monday(state.last_date) else 0
    return max(0, min(goal, _available(week, state.run_start, pauses)) - done)


def _weekly_missed(state: StreakState, until_week: date, goal: int, pauses: Pauses) -> int:
    """Shortfall of every finished week before `until_week`; stops once it passes freezes."""
    assert state.last_date is not None
    total = 0
    week = monday(state.last_date)
    while week < until_week and total <= state.freezes:
        total += _week_shortfall(state, week, goal, pauses)
        week += WEEK
    return total


def _daily_missed(state: StreakState, day: date, at: datetime, pauses: Pauses) -> int:
    """Non-excused days strictly between the last counted day and `day`, capped by real time."""
    assert state.last_date is not None and state.last_at is not None
    first, last = state.last_date + DAY, day - DAY
    calendar = max(0, (last - first).days + 1) - pauses.count(first, last)
    whole_days = (at - state.last_at + TRAVEL_SLACK) // DAY
    return max(0, min(calendar, whole_days))


def apply_checkin(
    state: StreakState,
    day: date,
    at: datetime,
    goal: int,
    pauses: Pauses,
    rules: StreakRules,
) -> Step:
    """The state after a check-in on local date `day` at UTC instant `at`."""
    last_at = at if state.last_at is None else max(state.last_at, at)
    if state.last_date is not None and day <= state.last_date:
        outcome = Outcome.SAME_DAY if day == state.last_date else Outcome.EARLIER
        return Step(replace(state, last_at=last_at), outcome)

    missed = 0
    if state.last_date is None:
        outcome = Outcome.STARTED
    elif goal >= DAILY_GOAL:
        missed = _daily_missed(state, day, at, pauses)
        outcome = Outcome.KEPT if missed == 0 else Outcome.HELD
    elif monday(day) > monday(state.last_date):
        missed = _weekly_missed(state, monday(day), goal, pauses)
        outcome = Outcome.KEPT if missed == 0 else Outcome.HELD
    else:
        outcome = Outcome.KEPT

    if outcome is Outcome.HELD and missed > state.freezes:
        outcome = Outcome.BROKE
    spent = missed if outcome is Outcome.HELD else 0
    if outcome in (Outcome.STARTED, Outcome.BROKE):
        current, freezes, run_start = 1, 0, day
    else:
        assert state.run_start is not None
        current, freezes, run_start = state.current + 1, state.freezes - spent, state.run_start
    same_week = state.last_date is not None and monday(day) == monday(state.last_date)
    week_days = state.week_days + 1 if same_week and outcome is not Outcome.BROKE else 1
    earned = current % rules.freeze_every == 0 and freezes < rules.max_freezes
    if earned:
        freezes += 1
    new_state = StreakState(
        current=current,
        best=max(state.best, current),
        freezes=freezes,
        last_date=day,
        last_at=last_at,
        run_start=run_start,
        week_days=week_days,
    )
    return Step(new_state, outcome, missed, spent, earned)


@dataclass(frozen=True)
class Standing:
    """A streak as it stands at some instant, with the days missed since the last check-in."""

    current: int
    freezes: int
    alive: bool
    breaks_at: datetime | None  # when it breaks unless the member checks in; None: never


def breaks_at(state: StreakState, goal: int, pauses: Pauses, zone: ZoneInfo) -> datetime | None:
    """The UTC instant the streak breaks without another check-in (None: no streak, or paused)."""
    if state.last_date is None or state.last_at is None or state.current == 0:
        return None
    if goal >= DAILY_GOAL:
        misses, day = 0, state.last_date
        for _ in range(WEEKS_LOOKAHEAD * 7):
            day += DAY
            if pauses.is_excused(day):
                if pauses.open_since() is not None and day >= pauses.open_since():
                    return None
                continue
            misses += 1
            if misses > state.freezes:
                by_calendar = local_midnight(day + DAY, zone)
                by_clock = state.last_at + (state.freezes + 1) * DAY - TRAVEL_SLACK
                return max(by_calendar, by_clock)
        return None
    shortfall, week = 0, monday(state.last_date)
    for _ in range(WEEKS_LOOKAHEAD):
        opening = pauses.open_since()
        if opening is not None and week + timedelta(days=6) >= opening:
            return None
        shortfall += _week_shortfall(state, week, goal, pauses)
        if shortfall > state.freezes:
            return local_midnight(week + WEEK, zone)
        week += WEEK
    return None


def standing(
    state: StreakState,
    now: datetime,
    today: date,
    goal: int,
    pauses: Pauses,
    zone: ZoneInfo,
) -> Standing:
    """The streak as the member sees it now: broken streaks show 0, spent freezes are gone."""
    end = breaks_at(state, goal, pauses, zone)
    if state.current == 0 or state.last_date is None or (end is not None and now >= end):
        return Standing(0, 0, False, None)
    spent = missed_so_far(state, today, now, goal, pauses)
    return Standing(state.current, max(0, state.freezes - spent), True, end)


def missed_so_far(state: StreakState, today: date, now: datetime, goal: int, pauses: Pauses) -> int:
    """Days missed (daily) or short of the goal (weekly) since the last check-in, until now."""
    if state.last_date is None or today <= state.last_date:
        return 0
    if goal >= DAILY_GOAL:
        return _daily_missed(state, today, now, pauses)
    return _weekly_missed(replace(state, freezes=10**6), monday(today), goal, pauses)


def replay(
    days: Iterable[tuple[date, datetime, int]], pauses: Pauses, rules: StreakRules
) -> list[Step]:
    """Apply check-ins (local date, UTC instant, goal) in the order they were written."""
    state = StreakState()
    steps = []
    for day, at, goal in days:
        step = apply_checkin(state, day, at, goal, pauses, rules)
        steps.append(step)
        state = step.state
    return steps
