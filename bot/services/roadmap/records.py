"""What the roadmap services return: frozen, Discord-free views of the data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.services.roadmap.content import Milestone, Phase, Track
from bot.services.roadmap.plan import Pace, PhaseProgress
from bot.services.roadmap.streaks import Outcome


@dataclass(frozen=True)
class StreakSummary:
    current: int
    best: int
    freezes: int
    weekly_goal: int
    week_days: int  # check-in days this local week

    @property
    def daily(self) -> bool:
        return self.weekly_goal >= 7


@dataclass(frozen=True)
class Enrolment:
    track: Track
    start_date: date
    timezone: str
    month: int
    phase: Phase


@dataclass(frozen=True)
class ArchivedMilestone:
    """A milestone the member ticked that the roadmap no longer offers to their track."""

    key: str
    title: str
    done_on: date


@dataclass(frozen=True)
class MemberView:
    user_id: int
    track: Track
    start_date: date
    timezone: str
    month: int
    phase: int  # 1-based; one past the last phase when everything is done
    phase_name: str
    progress: tuple[PhaseProgress, ...]
    done_recently: tuple[Milestone, ...]
    next_up: tuple[Milestone, ...]
    pace: Pace
    paused_since: date | None
    streak: StreakSummary
    buddy_id: int | None
    archived: tuple[ArchivedMilestone, ...] = ()  # newest first

    @property
    def finished(self) -> bool:
        return all(p.done >= p.total for p in self.progress)


@dataclass(frozen=True)
class MilestoneResult:
    milestone: Milestone
    done: bool
    changed: bool
    phase_before: int
    phase_after: int
    phase_name: str
    done_count: int
    total: int


@dataclass(frozen=True)
class CheckinResult:
    checkin_id: int
    day: date
    outcome: Outcome
    streak: StreakSummary
    missed: int
    freezes_spent: int
    earned_freeze: bool
    milestone: Milestone | None
    milestone_was_done: bool
    phase_entered: str | None
    has_blockers: bool


@dataclass(frozen=True)
class CheckinRecord:
    id: int
    guild_id: int
    user_id: int
    day: date
    created_at: datetime
    minutes: int
    did: str
    blockers: str | None
    next_step: str | None
    milestone: str | None
    escalated: bool


@dataclass(frozen=True)
class StreakView:
    user_id: int
    summary: StreakSummary
    alive: bool
    breaks_at: datetime | None
    today: date
    timezone: str
    checkin_days: int
    checkins_total: int
    minutes_total: int
    heatmap: dict[date, int]
    paused: bool


@dataclass(frozen=True)
class WhyDay:
    """One counted day (or a missed stretch before it) as the streak rules saw it."""

    day: date
    outcome: Outcome
    streak_after: int
    freezes_after: int
    missed: int
    freezes_before: int
    freezes_spent: int
    earned_freeze: bool


@dataclass(frozen=True)
class StreakWhy:
    view: StreakView
    days: tuple[WhyDay, ...]  # most recent last
    missed_since_last: int  # days (or goal shortfall) since the last check-in, so far
    last_break: WhyDay | None
