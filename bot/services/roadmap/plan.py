"""Where a member is against the 12-month plan: month N, phase progress and pace.

The plan clock starts on the member's start date and stands still while they are paused.
Each phase expects its milestones to be done evenly over its months; pace compares the
milestones actually done with that expectation and says how many weeks ahead or behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.services.roadmap.content import PLAN_MONTHS, Roadmap
from bot.services.roadmap.dates import add_months, months_between

ON_TRACK_WEEKS = 1.0


@dataclass(frozen=True)
class PhaseProgress:
    number: int
    name: str
    done: int
    total: int
    first_month: int
    last_month: int


@dataclass(frozen=True)
class Pace:
    weeks: float  # positive: ahead of the plan; negative: behind

    @property
    def label(self) -> str:
        if abs(self.weeks) < ON_TRACK_WEEKS:
            return "on track"
        whole = round(abs(self.weeks))
        unit = "week" if whole == 1 else "weeks"
        return f"{whole} {unit} {'ahead' if self.weeks > 0 else 'behind'}"


def plan_start(start_date: date, paused_days: int, paused_on: date | None, today: date) -> date:
    """The start date moved on by every paused day, so the plan clock skips pauses."""
    open_pause = max(0, (today - paused_on).days) if paused_on is not None else 0
    return start_date + timedelta(days=paused_days + open_pause)


def plan_month(effective_start: date, today: date) -> int:
    """1 in the first month of the plan; may pass 12 when the plan runs long."""
    return max(1, months_between(effective_start, today) + 1)


def phase_progress(roadmap: Roadmap, track: str, done: set[str]) -> list[PhaseProgress]:
    milestones = roadmap.milestones_for(track)
    return [
        PhaseProgress(
            number=phase.number,
            name=phase.name,
            done=sum(1 for m in milestones if m.phase == phase.number and m.key in done),
            total=sum(1 for m in milestones if m.phase == phase.number),
            first_month=phase.first_month,
            last_month=phase.last_month,
        )
        for phase in roadmap.phases
    ]


def current_phase(progress: list[PhaseProgress], floor: int = 1) -> int:
    """The first phase with an open milestone; one past the last when everything is done.

    Never below `floor`, the phase a content update found the member in (see
    reconcile.move_phases): new milestones in a phase behind them are open work, not a
    step back.
    """
    derived = next((p.number for p in progress if p.done < p.total), len(progress) + 1)
    return max(derived, min(floor, len(progress) + 1))


def _expected(progress: list[PhaseProgress], start: date, day: date) -> float:
    total = 0.0
    for phase in progress:
        begin = add_months(start, phase.first_month - 1)
        end = add_months(start, phase.last_month)
        span = max(1, (end - begin).days)
        fraction = min(1.0, max(0.0, (day - begin).days / span))
        total += fraction * phase.total
    return total


def pace(progress: list[PhaseProgress], effective_start: date, today: date) -> Pace:
    """Weeks between today and the day the plan expects the milestones done so far."""
    done = sum(p.done for p in progress)
    plan_end = add_months(effective_start, PLAN_MONTHS)
    if done >= sum(p.total for p in progress):
        target = plan_end
    else:
        low, high = effective_start, plan_end
        while (high - low).days > 1:
            middle = low + (high - low) / 2
            if _expected(progress, effective_start, middle) <= done:
                low = middle
            else:
                high = middle
        target = low
    if target >= plan_end and today >= plan_end:
        target = max(target, today)
    return Pace(weeks=(target - today).days / 7)
