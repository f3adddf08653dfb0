"""Roadmap services on a real SQLite file: enrolment, check-ins, streaks, views, bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.errors import DomainError, NotFound
from bot.services.contracts import MemberContext, MemberDataSource
from bot.services.guild_settings import TimeKind
from bot.services.roadmap.streaks import Outcome
from bot.wiring import Services

G, ALICE, BOB, CAROL = 1, 10, 11, 12


async def count(services: Services, table: str) -> int:
    return await services.db.fetch_value(f"SELECT count(*) FROM {table}")


async def enrol(services: Services, user: int = ALICE, **kwargs: object) -> None:
    kwargs.setdefault("track", "ai_engineer")
    await services.roadmap.members.start(G, user, **kwargs)  # type: ignore[arg-type]


# --- Enrolment and bad input -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"track": "wizard"}, "no track 'wizard'"),
        ({"timezone": "Mars/Olympus"}, "not a time zone"),
        ({"start_date": "2026-03-03"}, "can't be in the future"),
        ({"start_date": "2019-12-31"}, "2020 or later"),
        ({"start_date": "yesterday"}, "not a date"),
    ],
)
async def test_bad_enrolment_is_refused_and_nothing_written(
    services: Services, kwargs: dict, message: str
) -> None:
    with pytest.raises(DomainError, match=message):
        await enrol(services, **kwargs)
    assert await count(services, "roadmap_members") == 0


async def test_start_date_in_the_future_is_judged_by_the_members_own_clock(
    services: Services, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 2, 23, 30, tzinfo=UTC))  # already the 3rd in Berlin
    await enrol(services, timezone="Europe/Berlin", start_date="2026-03-03")
    view = await services.roadmap.members.view(G, ALICE)
    assert view.start_date == date(2026, 3, 3)


async def test_enrolling_twice_is_refused(services: Services) -> None:
    await enrol(services)
    with pytest.raises(DomainError, match="already on the roadmap"):
        await enrol(services, track="ml_engineer")


async def test_view_shows_month_phase_progress_and_pace(services: Services) -> None:
    await enrol(services, start_date="2025-12-02")  # three months ago
    roadmap = services.roadmap
    view = await roadmap.members.view(G, ALICE)
    assert view.month == 4
    assert view.phase == 1 and view.phase_name == "Foundations"
    assert "behind" in view.pace.label  # nothing done after three months
    assert [p.total for p in view.progress] == [7, 6, 8, 8]
    for milestone in (await roadmap.catalog.get(G)).milestones_for("ai_engineer")[:7]:
        await roadmap.members.set_milestone(G, ALICE, milestone.key)
    view = await roadmap.members.view(G, ALICE)
    assert view.phase == 2 and view.phase_name == "Machine Learning Core"
    assert view.pace.label == "on track"  # all of phase 1, exactly at the end of month 3


async def test_pace_ahead_when_milestones_run_ahead_of_the_plan(services: Services) -> None:
    await enrol(services)
    for milestone in (await services.roadmap.catalog.get(G)).milestones_for("ai_engineer")[:7]:
        await services.roadmap.members.set_milestone(G, ALICE, milestone.key)
    view = await services.roadmap.members.view(G, ALICE)
    assert view.pace.weeks > 10 and "ahead" in view.pace.label


async def test_milestone_from_another_track_is_refused(services: Services) -> None:
    await enrol(services)
    with pytest.raises(DomainError, match="belongs to the ML Engineer track"):
        await services.roadmap.members.set_milestone(G, ALICE, "feature-engineering")
    with pytest.raises(NotFound, match="no milestone"):
        await services.roadmap.members.set_milestone(G, ALICE, "'; DROP TABLE x; --")
    assert await count(services, "roadmap_milestones") == 0


async def test_milestone_done_undo_and_phase_entries(services: Services) -> None:
    await enrol(services)
    members = services.roadmap.members
    first = await members.set_milestone(G, ALICE, "python-core")
    assert first.changed and first.done and first.done_count == 1
    again = await members.set_milestone(G, ALICE, "Write Python without reaching for the docs")
    assert not again.changed
    undone = await members.set_milestone(G, ALICE, "python-core", done=False)
    assert undone.changed and not undone.done and undone.done_count == 0
    row = await services.db.fetch_one("SELECT milestones_done, phase FROM roadmap_members")
    assert tuple(row) == (0, 1)


async def test_autocomplete_lists_only_the_members_track(services: Services) -> None:
    await enrol(services)
    choices = await services.roadmap.members.milestone_choices(G, ALICE, "")
    assert len(choices) == 25
    keys = {key for _, key in await services.roadmap.members.milestone_choices(G, ALICE, "feat")}
    assert "feature-engineering" not in keys
    assert all(len(label) <= 100 for label, _ in choices)
    assert await services.roadmap.members.milestone_choices(G, BOB, "") == []


# --- Check-ins and streaks ---------------------------------------------------------------


async def test_checkin_reports_streak_best_week_and_milestone(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)
    await services.roadmap.members.set_goal(G, ALICE, 4)
    checkins = services.roadmap.checkins
    first = await checkins.checkin(G, ALICE, "read a chapter", "45", milestone="python-core")
    assert first.outcome is Outcome.STARTED
    assert first.milestone is not None and first.milestone.key == "python-core"
    assert (first.streak.current, first.streak.week_days, first.streak.weekly_goal) == (1, 1, 4)
    second = await checkins.checkin(G, ALICE, "more", "1h30")
    assert second.outcome is Outcome.SAME_DAY and second.streak.week_days == 1
    clock.advance(days=1)
    third = await checkins.checkin(G, ALICE, "next day")
    assert (third.streak.current, third.streak.best, third.streak.week_days) == (2, 2, 2)
    row = await services.db.fetch_one(
        "SELECT checkins_total, checkin_days, minutes_total, milestones_done FROM roadmap_members"
    )
    assert tuple(row) == (3, 2, 135, 1)


async def test_streak_counts_days_in_the_members_zone_else_the_servers(
    services: Services, clock: FixedClock
) -> None:
    await services.guild_settings.set_timezone(G, "Asia/Tokyo")
    await enrol(services, user=ALICE)  # follows the server: Tokyo
    await enrol(services, user=BOB, timezone="America/Los_Angeles")
    clock.set(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))  # Tokyo 23:30 Mon; LA 06:30 Mon
    a1 = await services.roadmap.checkins.checkin(G, ALICE, "late")
    b1 = await services.roadmap.checkins.checkin(G, BOB, "early")
    clock.advance(hours=1)  # Tokyo 00:30 Tue; LA 07:30 Mon
    a2 = await services.roadmap.checkins.checkin(G, ALICE, "after midnight")
    b2 = await services.roadmap.checkins.checkin(G, BOB, "same morning")
    assert (a1.day, a2.day) == (date(2026, 3, 2), date(2026, 3, 3))
    assert a2.streak.current == 2
    assert b1.day == b2.day == date(2026, 3, 2)
    assert b2.streak.current == 1


async def test_travel_with_a_zone_change_keeps_the_streak(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services, timezone="America/Los_Angeles")
    clock.set(datetime(2026, 3, 5, 4, 0, tzinfo=UTC))  # LA, Wed 4th 20:00
    await services.roadmap.checkins.checkin(G, ALICE, "before the flight")
    await services.roadmap.members.set_timezone(G, ALICE, "Pacific/Auckland")
    clock.advance(hours=15)  # Auckland, Fri 6th 08:00: Thursday never happened for them
    result = await services.roadmap.checkins.checkin(G, ALICE, "landed")
    assert result.day == date(2026, 3, 6)
    assert result.outcome is Outcome.KEPT and result.streak.current == 2
    stored = await services.db.fetch_all("SELECT local_date FROM roadmap_checkins ORDER BY id")
    assert [r[0] for r in stored] == ["2026-03-04", "2026-03-06"]


async def test_freezes_show_on_the_streak_view_and_are_spent_automatically(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)
    for _ in range(7):
        await services.roadmap.checkins.checkin(G, ALICE, "daily")
        clock.advance(days=1)
    view = await services.roadmap.checkins.streak(G, ALICE)
    assert (view.summary.current, view.summary.freezes) == (7, 1)
    clock.advance(days=1)  # a whole day missed
    view = await services.roadmap.checkins.streak(G, ALICE)
    assert (view.summary.current, view.summary.freezes, view.alive) == (7, 0, True)
    result = await services.roadmap.checkins.checkin(G, ALICE, "back")
    assert result.outcome is Outcome.HELD and result.freezes_spent == 1
    assert result.streak.current == 8
    why = await services.roadmap.checkins.why(G, ALICE)
    assert why.days[-1].outcome is Outcome.HELD and why.days[-1].freezes_spent == 1
    assert why.last_break is None


async def test_streak_why_names_the_break(services: Services, clock: FixedClock) -> None:
    await enrol(services)
    for step in (0, 1, 1, 3):
        clock.advance(days=step)
        await services.roadmap.checkins.checkin(G, ALICE, "x")
    why = await services.roadmap.checkins.why(G, ALICE)
    assert why.last_break is not None and why.last_break.missed == 2
    assert [d.streak_after for d in why.days] == [1, 2, 3, 1]
    clock.advance(days=2)
    why = await services.roadmap.checkins.why(G, ALICE)
    assert why.missed_since_last == 1
    assert why.view.summary.current == 0


async def test_heatmap_covers_26_weeks_of_checkin_days(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services, start_date="2025-01-01")
    await services.db.executemany(
        "INSERT INTO roadmap_checkins (guild_id, user_id, created_at, local_date, weekly_goal, "
        "did) VALUES (?, ?, '2025-01-01 00:00:00', ?, 7, 'x')",
        [(G, ALICE, (date(2026, 3, 2) - timedelta(days=d)).isoformat()) for d in range(400)],
    )
    view = await services.roadmap.checkins.streak(G, ALICE)
    assert min(view.heatmap) == date(2025, 9, 8)  # the Monday 25 weeks before this week's
    assert len(view.heatmap) == 25 * 7 + 1  # 25 full weeks, and today (a Monday)


async def test_hostile_text_is_stored_whole(services: Services) -> None:
    await enrol(services)
    text = ("@everyone <@&1> <@2> @here " * 200)[:4000]
    result = await services.roadmap.checkins.checkin(G, ALICE, text, blockers=text)
    stored = await services.db.fetch_one("SELECT did, blockers FROM roadmap_checkins")
    assert stored["did"] == text.strip() and len(stored["did"]) <= 4000
    assert result.has_blockers


@pytest.mark.parametrize(
    ("did", "minutes", "message"),
    [
        ("", None, "can't be empty"),
        ("   ", None, "can't be empty"),
        ("x" * 4001, None, "at most 4000"),
        ("ok", "-5", "not a duration"),
        ("ok", "lots", "not a duration"),
        ("ok", "25h", "at most 1440"),
        ("ok", "99999", "at most 1440"),
        ("ok", "\u00b2", "not a duration"),  # a superscript two: a digit to str.isdigit
    ],
)
async def test_bad_checkins_are_refused_and_nothing_written(
    services: Services, did: str, minutes: str | None, message: str
) -> None:
    await enrol(services)
    with pytest.raises(DomainError, match=message):
        await services.roadmap.checkins.checkin(G, ALICE, did, minutes)
    assert await count(services, "roadmap_checkins") == 0
    assert await services.db.fetch_value("SELECT checkins_total FROM roadmap_members") == 0


async def test_checkin_with_a_bad_milestone_writes_nothing(services: Services) -> None:
    await enrol(services)
    with pytest.raises(DomainError, match="ML Engineer track"):
        await services.roadmap.checkins.checkin(G, ALICE, "x", milestone="feature-engineering")
    assert await count(services, "roadmap_checkins") == 0
    assert await count(services, "roadmap_period_stats") == 0


async def test_checkins_per_day_are_capped(services: Services) -> None:
    await enrol(services)
    for _ in range(services.settings.roadmap_checkins_per_day_max):
        await services.roadmap.checkins.checkin(G, ALICE, "spam")
    with pytest.raises(DomainError, match="check-ins today already"):
        await services.roadmap.checkins.checkin(G, ALICE, "one more")


async def test_checkin_requires_enrolment_and_an_active_roadmap(services: Services) -> None:
    with pytest.raises(NotFound, match="/roadmap start"):
        await services.roadmap.checkins.checkin(G, ALICE, "x")
    await enrol(services)
    await services.roadmap.members.pause(G, ALICE)
    with pytest.raises(DomainError, match="paused"):
        await services.roadmap.checkins.checkin(G, ALICE, "x")


async def test_edit_changes_todays_checkin_and_the_minutes_total(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)
    first = await services.roadmap.checkins.checkin(G, ALICE, "typo", "30")
    edited = await services.roadmap.checkins.edit(
        G, ALICE, first.checkin_id, "fixed", "50", "none", None
    )
    assert (edited.did, edited.minutes, edited.blockers) == ("fixed", 50, "none")
    assert await services.db.fetch_value("SELECT minutes_total FROM roadmap_members") == 50
    clock.advance(days=1)
    with pytest.raises(NotFound, match="haven't checked in today"):
        await services.roadmap.checkins.todays(G, ALICE)
    with pytest.raises(DomainError, match="Only today's"):
        await services.roadmap.checkins.edit(G, ALICE, first.checkin_id, "late", None, None, None)
    await enrol(services, user=BOB)
    with pytest.raises(DomainError, match="Only today's"):
        await services.roadmap.checkins.edit(G, BOB, first.checkin_id, "not mine", None, None, None)


async def test_pause_stops_the_plan_clock_and_excuses_days(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)
    await services.roadmap.checkins.checkin(G, ALICE, "x")
    await services.roadmap.members.pause(G, ALICE)
    clock.advance(days=40)
    assert (await services.roadmap.members.view(G, ALICE)).month == 1
    assert await services.roadmap.members.resume(G, ALICE) == 40
    result = await services.roadmap.checkins.checkin(G, ALICE, "back")
    assert result.outcome is Outcome.KEPT and result.streak.current == 2
    view = await services.roadmap.members.view(G, ALICE)
    assert view.month == 1 and view.paused_since is None


async def test_leave_removes_the_members_data_in_this_server_only(services: Services) -> None:
    await enrol(services)
    await services.roadmap.members.start(2, ALICE, "ml_engineer")
    await services.roadmap.checkins.checkin(G, ALICE, "x", milestone="python-core")
    await services.roadmap.checkins.checkin(2, ALICE, "y")
    await services.roadmap.members.leave(G, ALICE)
    for table in ("roadmap_checkins", "roadmap_milestones", "roadmap_period_stats"):
        assert (
            await services.db.fetch_value(f"SELECT count(*) FROM {table} WHERE guild_id = ?", (G,))
            == 0
        )
    assert (
        await services.db.fetch_value("SELECT count(*) FROM roadmap_checkins WHERE guild_id = 2")
        == 1
    )
    with pytest.raises(NotFound):
        await services.roadmap.members.leave(G, ALICE)


async def test_member_context_for_the_qa_helper(services: Services) -> None:
    assert await services.roadmap.member_context(G, ALICE) is None
    await enrol(services)
    await services.roadmap.checkins.checkin(G, ALICE, "x")
    context = await services.roadmap.member_context(G, ALICE)
    assert isinstance(context, MemberContext)
    assert (context.track, context.phase, context.month, context.streak_days) == (
        "AI Engineer",
        "Foundations",
        1,
        1,
    )
    assert context.open_milestones[0] == "Write Python without reaching for the docs"


# --- Leaderboards --------------------------------------------------------------------------


async def test_leaderboard_ranks_this_servers_members_and_pages(
    services: Services, clock: FixedClock
) -> None:
    for user in range(100, 125):
        await services.roadmap.members.start(G, user, "ai_engineer")
        for _ in range(1 + user % 3):
            await services.roadmap.checkins.checkin(G, user, "x")
    await services.roadmap.members.start(2, 999, "ai_engineer")
    await services.roadmap.checkins.checkin(2, 999, "other server")
    board = services.roadmap.leaderboard
    first = await board.page(G, "checkins", "week", 1)
    assert first.has_next
    assert [r.rank for r in first.rows] == list(range(1, 11))
    assert all(r.value == 1 for r in first.rows)  # one check-in day each, however many times
    assert [r.user_id for r in first.rows] == list(range(100, 110))  # ties in user order
    assert {r.checkins for r in first.rows} == {1, 2, 3}
    third = await board.page(G, "checkins", "all", 3)
    assert [r.rank for r in third.rows] == list(range(21, 26))
    assert 999 not in {r.user_id for r in first.rows + third.rows}
    with pytest.raises(DomainError, match="only 3 pages"):
        await board.page(G, "checkins", "all", 4)
    with pytest.raises(DomainError, match="start at 1"):
        await board.page(G, "checkins", "all", 0)
    empty = await board.page(G, "milestones", "month", 1)
    assert (empty.has_next, empty.rows) == (False, ())


async def test_leaderboard_periods_follow_the_server_calendar(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services, user=ALICE)
    await enrol(services, user=BOB)
    await services.roadmap.checkins.checkin(G, ALICE, "only once")
    for _ in range(8):  # Monday to the next Monday
        await services.roadmap.checkins.checkin(G, BOB, "every day")
        clock.advance(days=1)
    clock.advance(days=-1)
    board = services.roadmap.leaderboard

    async def ranked(kind: str, period: str) -> list[tuple[int, int]]:
        return [(r.user_id, r.value) for r in (await board.page(G, kind, period)).rows]

    # Live streaks of members who checked in during the period; alice's broke long ago.
    assert await ranked("streaks", "week") == [(BOB, 8)]
    assert await ranked("streaks", "month") == [(BOB, 8)]
    assert await ranked("streaks", "all") == [(BOB, 8), (ALICE, 1)]
    assert await ranked("checkins", "week") == [(BOB, 1)]  # the new week began today
    assert await ranked("checkins", "month") == [(BOB, 8), (ALICE, 1)]
    with pytest.raises(DomainError, match="no such leaderboard"):
        await board.page(G, "karma", "week")


# --- Buddies -------------------------------------------------------------------------------


async def test_buddy_requests_and_pairs(services: Services) -> None:
    for user in (ALICE, BOB, CAROL):
        await enrol(services, user=user)
    buddies = services.roadmap.buddies
    with pytest.raises(DomainError, match="your own buddy"):
        await buddies.request(G, ALICE, ALICE)
    with pytest.raises(DomainError, match="Bots"):
        await buddies.request(G, ALICE, 555, to_is_bot=True)
    with pytest.raises(DomainError, match="isn't on the roadmap"):
        await buddies.request(G, ALICE, 556)
    await buddies.request(G, ALICE, BOB)
    await buddies.request(G, CAROL, BOB)
    with pytest.raises(DomainError, match="Several members"):
        await buddies.accept(G, BOB)
    assert await buddies.accept(G, BOB, ALICE) == ALICE
    status = await buddies.status(G, ALICE)
    assert status.buddy_id == BOB
    with pytest.raises(DomainError, match="already has a buddy"):
        await buddies.request(G, CAROL, ALICE)
    with pytest.raises(NotFound, match="No buddy request"):
        await buddies.accept(G, CAROL)
    assert await buddies.end(G, BOB) == ALICE
    assert (await buddies.status(G, ALICE)).buddy_id is None


async def test_a_request_back_makes_the_pair(services: Services) -> None:
    await enrol(services, user=ALICE)
    await enrol(services, user=BOB)
    await services.roadmap.buddies.request(G, ALICE, BOB)
    result = await services.roadmap.buddies.request(G, BOB, ALICE)
    assert result.paired
    assert (await services.roadmap.buddies.status(G, BOB)).buddy_id == ALICE


async def test_buddy_nudge_after_two_missed_days_once(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services, user=ALICE, timezone="Europe/Berlin")
    await enrol(services, user=BOB)
    await services.roadmap.checkins.checkin(G, ALICE, "monday")
    await services.roadmap.buddies.request(G, ALICE, BOB)
    await services.roadmap.buddies.accept(G, BOB)
    reminders = services.roadmap.reminders
    clock.set(datetime(2026, 3, 4, 22, 59, tzinfo=UTC))  # Wed 23:59 Berlin: 2nd day not over
    assert await reminders.due_nudges(clock.now(), 10) == []
    clock.set(datetime(2026, 3, 4, 23, 0, tzinfo=UTC))
    due = await reminders.due_nudges(clock.now(), 10)
    assert [(n.buddy_id, n.user_id, n.last_day) for n in due] == [(BOB, ALICE, date(2026, 3, 2))]
    await reminders.finish_nudge(due[0])
    clock.advance(days=5)
    assert [n.user_id for n in await reminders.due_nudges(clock.now(), 10)] == [BOB]


async def test_a_nudge_set_while_one_is_being_sent_is_not_wiped(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services, user=ALICE)
    await enrol(services, user=BOB)
    await services.roadmap.checkins.checkin(G, ALICE, "monday")
    await services.roadmap.buddies.request(G, ALICE, BOB)
    await services.roadmap.buddies.accept(G, BOB)
    reminders = services.roadmap.reminders
    clock.set(datetime(2026, 3, 5, 0, 0, tzinfo=UTC))
    (sending,) = [n for n in await reminders.due_nudges(clock.now(), 10) if n.user_id == ALICE]
    # While the DM goes out, Alice checks in: her next lapse gets a nudge of its own.
    await services.roadmap.checkins.checkin(G, ALICE, "back again")
    await reminders.finish_nudge(sending)
    pending = await services.db.fetch_value(
        "SELECT nudge_due_at FROM roadmap_members WHERE user_id = ?", (ALICE,)
    )
    assert pending is not None and pending != sending.due_at


# --- Reminders -----------------------------------------------------------------------------


async def test_reminder_settings_validate_time_and_quiet_hours(services: Services) -> None:
    await enrol(services)
    reminders = services.roadmap.reminders
    with pytest.raises(DomainError, match="not a time"):
        await reminders.turn_on(G, ALICE, "7pm")
    with pytest.raises(DomainError, match="not a range"):
        await reminders.turn_on(G, ALICE, "19:00", "night")
    with pytest.raises(DomainError, match="inside your quiet hours"):
        await reminders.turn_on(G, ALICE, "23:00", "22:00-07:00")
    settings = await reminders.turn_on(G, ALICE, "18:30", "22:00-07:00")
    assert (settings.time, settings.quiet_start, settings.quiet_end) == ("18:30", "22:00", "07:00")
    assert settings.next_at == datetime(2026, 3, 2, 18, 30, tzinfo=UTC)


async def test_reminders_skip_days_with_a_checkin_and_stop_after_three_misses(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services, timezone="Europe/Berlin")
    reminders = services.roadmap.reminders
    await reminders.turn_on(G, ALICE, "20:00")
    clock.set(datetime(2026, 3, 2, 18, 59, tzinfo=UTC))
    assert await reminders.due(clock.now(), 10) == []
    await services.roadmap.checkins.checkin(G, ALICE, "done early")
    clock.set(datetime(2026, 3, 2, 19, 0, tzinfo=UTC))
    assert await reminders.due(clock.now(), 10) == []  # checked in: moved to tomorrow
    for day in (3, 4, 5):
        clock.set(datetime(2026, 3, day, 19, 0, tzinfo=UTC))
        (due,) = await reminders.due(clock.now(), 10)
        assert due.day == date(2026, 3, day) and due.last_try == (day == 5)
        turned_off = await reminders.finish(due, delivered_by_dm=False)
        assert turned_off == (day == 5)
    assert await reminders.settings(G, ALICE) is None


async def test_reminder_waits_out_quiet_hours_and_skips_a_day_lost_to_downtime(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)  # UTC
    reminders = services.roadmap.reminders
    await reminders.turn_on(G, ALICE, "21:00")
    await services.db.execute(
        "UPDATE roadmap_members SET quiet_start = '21:30', quiet_end = '23:00'"
    )
    clock.set(datetime(2026, 3, 2, 21, 45, tzinfo=UTC))  # late, and inside quiet hours
    assert await reminders.due(clock.now(), 10) == []
    clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
    (due,) = await reminders.due(clock.now(), 10)
    assert due.day == date(2026, 3, 2)
    await reminders.finish(due, delivered_by_dm=True)
    clock.set(datetime(2026, 3, 4, 8, 0, tzinfo=UTC))  # the bot was down all of the 3rd
    assert await reminders.due(clock.now(), 10) == []
    clock.set(datetime(2026, 3, 4, 21, 0, tzinfo=UTC))
    assert [d.day for d in await reminders.due(clock.now(), 10)] == [date(2026, 3, 4)]


# --- Digest and roles ------------------------------------------------------------------------


async def test_digest_is_due_after_monday_digest_time_for_the_week_before(
    services: Services, clock: FixedClock
) -> None:
    await services.guild_settings.set_channel(G, "checkin", 777)
    await services.guild_settings.set_time(G, TimeKind.DIGEST, "12:00")
    await enrol(services)
    digest = services.roadmap.digest
    assert await digest.due(clock.now()) == []  # Monday 10:00 UTC
    for day in range(6):
        await services.roadmap.checkins.checkin(
            G, ALICE, "x", milestone="python-core" if day == 2 else None
        )
        clock.advance(days=1)
    clock.set(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    (due,) = await digest.due(clock.now())
    assert (due.channel_id, due.period, due.week_start) == (777, "W2026-10", date(2026, 3, 2))
    data = await digest.build(G, due.week_start)
    assert (data.checkins, data.members_active, data.milestones) == (6, 1, 1)
    assert data.per_day == (1, 1, 1, 1, 1, 1, 0)
    assert data.top_streaks == ((ALICE, 6),)
    await services.scheduled_posts.claim(G, "roadmap:digest", due.period)
    assert await digest.due(clock.now()) == []


async def test_role_changes_follow_progress_and_a_refused_role_is_reported_once(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)
    roles = services.roadmap.roles
    await roles.set_mapping(G, "streak", 7, 5007)
    await roles.set_mapping(G, "phase", 1, 5001)
    with pytest.raises(DomainError, match="7, 30, 100"):
        await roles.set_mapping(G, "streak", 8, 5008)
    (change,) = await roles.due_changes(clock.now(), 10)
    assert (change.add, change.remove) == ((5001,), ())
    await roles.applied(change, failed=set())
    for _ in range(7):
        await services.roadmap.checkins.checkin(G, ALICE, "x")
        clock.advance(days=1)
    (change,) = await roles.due_changes(clock.now(), 10)
    assert change.add == (5007,)
    await roles.applied(change, failed=set())
    assert await roles.due_changes(clock.now(), 10) == []
    clock.advance(days=3)  # the streak broke without any command
    (change,) = await roles.due_changes(clock.now(), 10)
    assert change.remove == (5007,)
    assert await roles.refused(G, 5007) is True
    assert await roles.refused(G, 5007) is False
    assert [m.broken for m in await roles.mappings(G)] == [False, True]


async def test_a_checkin_during_the_discord_calls_keeps_its_role_update(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)
    roles = services.roadmap.roles
    await roles.set_mapping(G, "phase", 1, 5001)
    await roles.set_mapping(G, "streak", 7, 5007)
    for _ in range(6):
        await services.roadmap.checkins.checkin(G, ALICE, "x")
        clock.advance(days=1)
    (change,) = await roles.due_changes(clock.now(), 10)
    assert (change.add, change.streak_role) == ((5001,), None)
    # While the bot talks to Discord, the seventh check-in earns the streak role.
    await services.roadmap.checkins.checkin(G, ALICE, "day seven")
    await roles.applied(change, failed=set())
    (after,) = await roles.due_changes(clock.now(), 10)
    assert after.add == (5007,) and after.phase_role == 5001


async def test_a_role_the_member_already_held_is_never_taken_away(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)
    roles = services.roadmap.roles
    await roles.set_mapping(G, "phase", 1, 5001)
    (change,) = await roles.due_changes(clock.now(), 10)
    await roles.applied(change, failed=set(), already_held={5001})  # an admin had given it
    await roles.set_mapping(G, "phase", 1, 5002)
    (change,) = await roles.due_changes(clock.now(), 10)
    assert (change.add, change.remove) == ((5002,), ())  # 5001 is forgotten, not removed
    await roles.applied(change, failed=set())
    await roles.set_mapping(G, "phase", 1, 5003)
    (change,) = await roles.due_changes(clock.now(), 10)
    assert (change.add, change.remove) == ((5003,), (5002,))  # 5002 was the bot's to take


async def test_a_suspended_role_is_neither_given_nor_taken(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)
    await enrol(services, user=BOB)
    roles = services.roadmap.roles
    await roles.set_mapping(G, "phase", 1, 5001)
    (first, _) = await roles.due_changes(clock.now(), 10)
    await roles.applied(first, failed=set())
    assert await roles.suspend(G, 5001) is True
    assert await roles.suspend(G, 5001) is False  # the moderators are told once
    # Bob's pending change no longer gives it; Alice keeps hers, untouched.
    assert await roles.due_changes(clock.now(), 10) == []
    await services.db.execute("UPDATE roadmap_members SET roles_dirty = 1")
    assert await roles.due_changes(clock.now(), 10) == []
    held = await services.db.fetch_all("SELECT user_id, phase_role_id FROM roadmap_members")
    assert {(r[0], r[1]) for r in held} == {(ALICE, 5001), (BOB, None)}
    assert [m.suspended for m in await roles.mappings(G)] == [True]


# --- Privacy -------------------------------------------------------------------------------


async def test_privacy_export_and_delete(services: Services) -> None:
    assert isinstance(services.roadmap, MemberDataSource)
    await enrol(services, user=ALICE)
    await enrol(services, user=BOB)
    await services.roadmap.checkins.checkin(G, ALICE, "secret", milestone="python-core")
    await services.roadmap.buddies.request(G, ALICE, BOB)
    await services.roadmap.buddies.accept(G, BOB)
    exported = await services.roadmap.export_member(ALICE)
    assert exported["checkins"][0]["did"] == "secret"
    assert exported["memberships"][0]["buddy_id"] == BOB
    removed = await services.roadmap.delete_member(ALICE)
    assert removed >= 4
    assert await services.roadmap.export_member(ALICE) == {
        "memberships": [],
        "checkins": [],
        "milestones": [],
        "pauses": [],
        "phase_entries": [],
        "period_stats": [],
        "buddy_requests": [],
        "roadmaps_imported": [],
        "buddy_of": [],
    }
    assert (await services.roadmap.buddies.status(G, BOB)).buddy_id is None
    assert await services.roadmap.delete_guild(G) >= 1
    assert await count(services, "roadmap_members") == 0


# --- Concurrent check-ins ----------------------------------------------------------------


async def test_concurrent_checkins_share_transactions_and_fail_alone(services: Services) -> None:
    users = list(range(200, 230))
    for user in users:
        await enrol(services, user=user)
    checkins = services.roadmap.checkins

    async def one(user: int) -> object:
        milestone = "feature-engineering" if user % 7 == 0 else "python-core"
        return await checkins.checkin(
            G, user if user % 11 else 999, "together", "10", milestone=milestone
        )

    # While another write holds the writer, the check-ins queue up; then they share batches.
    async with services.db.transaction():
        pending = asyncio.gather(*(one(u) for u in users), return_exceptions=True)
        await asyncio.sleep(0.05)
        assert not pending.done()
    results = await pending
    refused = [u for u, r in zip(users, results, strict=True) if isinstance(r, Exception)]
    assert refused == [u for u in users if u % 7 == 0 or u % 11 == 0]
    assert all(isinstance(r, DomainError) for r in results if isinstance(r, Exception))
    stored = await services.db.fetch_value("SELECT count(*) FROM roadmap_checkins")
    assert stored == len(users) - len(refused)
    assert (
        await services.db.fetch_value("SELECT count(*) FROM roadmap_milestones") == stored
    )  # each accepted check-in ticked its milestone; the refused ones nothing
    assert checkins.writer.batches <= 3  # (the second check-in of member 999 after them)
    assert (await services.roadmap.maintenance.recompute(G, fix=False)).differences == ()


async def test_checkins_sent_at_the_same_moment_share_one_transaction(services: Services) -> None:
    """Even when nothing else is being written: the first does not go alone."""
    users = list(range(300, 310))
    for user in users:
        await enrol(services, user=user)
    checkins = services.roadmap.checkins
    before = checkins.writer.batches
    results = await asyncio.gather(*(checkins.checkin(G, u, "same moment", "5") for u in users))
    assert checkins.writer.batches == before + 1
    assert [r.streak.current for r in results] == [1] * len(users)
    assert len({r.checkin_id for r in results}) == len(users)
    assert await services.db.fetch_value("SELECT count(*) FROM roadmap_checkins") == len(users)
    assert (await services.roadmap.maintenance.recompute(G, fix=False)).differences == ()


async def test_daily_role_resync_checks_everyone_once_a_day(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services)
    roles = services.roadmap.roles
    await roles.set_mapping(G, "phase", 1, 5001)
    (change,) = await roles.due_changes(clock.now(), 10)
    await roles.applied(change, failed=set())
    # Someone took the role away by hand; nothing of Mentor's changed, so nothing is dirty.
    await services.db.execute("UPDATE roadmap_members SET phase_role_id = NULL, roles_granted = 0")
    clock.advance(hours=1)
    assert await roles.due_changes(clock.now(), 10) == []  # today's re-sync already ran
    clock.advance(days=1)
    (again,) = await roles.due_changes(clock.now(), 10)  # the next day's re-sync finds it
    assert again.add == (5001,)


# --- Daylight saving time -------------------------------------------------------------------


async def test_dst_change_keeps_daily_streak_and_reminder_local_time(
    services: Services, clock: FixedClock
) -> None:
    await enrol(services, timezone="Europe/Berlin", start_date="2026-03-02")
    checkins, reminders = services.roadmap.checkins, services.roadmap.reminders
    # Sat 28 March 23:30 CET, Sun 29 (clocks jump 02:00 -> 03:00) 23:30 CEST, Mon 30 00:30.
    for when in (
        datetime(2026, 3, 28, 22, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 21, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 30, tzinfo=UTC),
    ):
        clock.set(when)
        result = await checkins.checkin(G, ALICE, "x")
    assert result.day == date(2026, 3, 30) and result.streak.current == 3
    # The reminder stays at 20:00 on the member's clock: 19:00 UTC before, 18:00 UTC after.
    clock.set(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    settings = await reminders.turn_on(G, ALICE, "20:00")
    assert settings.next_at == datetime(2026, 3, 27, 19, 0, tzinfo=UTC)
    clock.set(datetime(2026, 3, 30, 12, 0, tzinfo=UTC))
    settings = await reminders.turn_on(G, ALICE, "20:00")
    assert settings.next_at == datetime(2026, 3, 30, 18, 0, tzinfo=UTC)
    assert (await services.roadmap.maintenance.recompute(G, fix=False)).differences == ()
