"""Daily challenges on a real database: rotation, scheduling, exactly-once answers, points."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import replace

import pytest

from bot.clock import FixedClock
from bot.errors import DomainError, NotFound
from bot.services.challenges import ChallengeService
from bot.services.challenges.daily import DAILY_KIND
from bot.services.challenges.model import Challenge, Difficulty, Kind, Phase
from bot.services.guild_settings import ChannelKind, TimeKind
from bot.wiring import Services

GUILD, CHANNEL = 10, 1000
TOPICS = ("python", "dsa", "rag", "agents", "mlops", "transformers", "ai_safety", "classical_ml")


def quiz(cid: str, topic: str, difficulty: str = "easy") -> Challenge:
    return Challenge(
        id=cid, title=cid, prompt="?", difficulty=Difficulty(difficulty),
        phase=Phase.FOUNDATIONS, topic=topic, tags=(), kind=Kind.QUIZ, hint="h",
        options=("right", "wrong", "other"), correct_index=0, explanation="because",
    )  # fmt: skip


def small_service(services: Services, challenges: tuple[Challenge, ...]) -> ChallengeService:
    return ChallengeService(
        services.db, services.clock, services.settings, services.guild_settings,
        services.scheduled_posts, challenges, random.Random(1),
    )  # fmt: skip


async def configure(services: Services, guild: int = GUILD, tz: str = "UTC") -> None:
    await services.guild_settings.set_channel(guild, ChannelKind.CHALLENGE, CHANNEL)
    await services.guild_settings.set_timezone(guild, tz)


async def post_today(service: ChallengeService, clock: FixedClock, guild: int = GUILD):
    """What the cog does: claim, prepare, (send), record."""
    due = [d for d in await service.daily.due(clock.now()) if d.guild_id == guild]
    assert due, "nothing due"
    assert await service.daily.scheduled_posts.claim(guild, DAILY_KIND, due[0].day)
    post = await service.daily.prepare(guild, due[0].day)
    post = await service.daily.record_posted(post.id, CHANNEL, 5000 + post.id, 7000 + post.id)
    await service.daily.scheduled_posts.mark_sent(guild, DAILY_KIND, due[0].day, 1)
    return post


async def test_rotation_uses_every_challenge_once_before_repeating(
    services: Services, clock: FixedClock
) -> None:
    bank = tuple(quiz(f"c-{n:02d}", TOPICS[n % len(TOPICS)]) for n in range(10))
    service = small_service(services, bank)
    await configure(services)
    seen = []
    for _ in range(10):
        seen.append((await post_today(service, clock)).challenge.id)
        clock.advance(days=1)
    assert sorted(seen) == sorted(c.id for c in bank)
    eleventh = await post_today(service, clock)
    assert eleventh.cycle == 2 and eleventh.challenge.id != seen[-1]


async def test_a_week_balances_topics_and_difficulty(services: Services, clock: FixedClock) -> None:
    await configure(services)
    week = []
    for _ in range(7):
        week.append((await post_today(services.challenges, clock)).challenge)
        clock.advance(days=1)
    assert len({c.topic for c in week}) == 7
    difficulties = Counter(c.difficulty.value for c in week)
    assert difficulties["hard"] == 1 and difficulties["easy"] == 3 and difficulties["medium"] == 3
    assert sum(c.kind is Kind.TASK for c in week) <= 1


async def test_servers_get_their_own_rotation(services: Services, clock: FixedClock) -> None:
    await configure(services, GUILD)
    await configure(services, GUILD + 1)
    first = [(await post_today(services.challenges, clock, g)).challenge.id for g in (10, 11)]
    assert first[0] != first[1]


async def test_due_follows_the_server_time_zone(services: Services, clock: FixedClock) -> None:
    await configure(services, tz="America/New_York")  # 10:00 UTC is 05:00 there (EST)
    await services.guild_settings.set_time(GUILD, TimeKind.DAILY_CHALLENGE, "07:30")
    assert await services.challenges.daily.due(clock.now()) == []
    clock.advance(hours=2, minutes=30)  # 07:30 in New York
    (due,) = await services.challenges.daily.due(clock.now())
    assert due.day == "2026-03-02" and due.channel_id == CHANNEL


async def test_due_finds_many_servers_in_a_fixed_number_of_queries(
    services: Services, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tick must not query once per server: with thousands per process that held the
    event loop for 100 ms a tick. Each server is still judged by its own local day."""
    utc, auckland = range(100, 120), range(200, 220)
    for guild in utc:
        await configure(services, guild)
    for guild in auckland:
        await configure(services, guild, tz="Pacific/Auckland")
    clock.set(clock.now().replace(hour=22))  # 22:00 UTC; 11:00 tomorrow in Auckland (NZDT)
    done = {(100, "2026-03-02"), (200, "2026-03-02"), (201, "2026-03-03")}
    for guild, day in done:
        assert await services.scheduled_posts.claim(guild, DAILY_KIND, day)
        await services.scheduled_posts.mark_sent(guild, DAILY_KIND, day)
    statements = []
    for method in ("fetch_all", "fetch_one", "fetch_value"):
        original = getattr(services.db, method)

        async def counted(sql, *args, _original=original, **kwargs):
            statements.append(sql)
            return await _original(sql, *args, **kwargs)

        monkeypatch.setattr(services.db, method, counted)
    due = await services.challenges.daily.due(clock.now())
    assert len(statements) <= 2
    assert {(d.guild_id, d.day) for d in due} == {
        *((g, "2026-03-02") for g in utc if g != 100),
        *((g, "2026-03-03") for g in auckland if g != 201),
    }
    statements.clear()
    clock.set(clock.now().replace(month=4, day=1))
    assert len(await services.challenges.due_month_tops(clock.now())) == 40
    # One look at the posts for all servers; then each server due has its standings read.
    assert sum("scheduled_posts" in sql for sql in statements) == 1


async def test_no_channel_nothing_due_and_after_an_outage_one_post(
    services: Services, clock: FixedClock
) -> None:
    await services.guild_settings.set_timezone(GUILD, "UTC")
    assert await services.challenges.daily.due(clock.now()) == []
    await configure(services)
    await post_today(services.challenges, clock)
    clock.advance(days=3, hours=5)  # down for three days: only today's is due, once
    due = await services.challenges.daily.due(clock.now())
    assert [d.day for d in due] == ["2026-03-05"]
    await post_today(services.challenges, clock)
    assert await services.challenges.daily.due(clock.now()) == []


async def test_prepare_is_stable_across_retries(services: Services, clock: FixedClock) -> None:
    await configure(services)
    first = await services.challenges.daily.prepare(GUILD, "2026-03-02")
    again = await services.challenges.daily.prepare(GUILD, "2026-03-02")
    assert first.id == again.id and first.challenge.id == again.challenge.id


async def test_answer_once_counts_and_points(services: Services, clock: FixedClock) -> None:
    service = small_service(services, (quiz("only-one", "python"),))
    await configure(services)
    post = await post_today(service, clock)
    result = await service.daily.answer(GUILD, post.id, 1, 0)
    assert (
        result.correct and result.points == 10 and (result.answered, result.correct_count) == (1, 1)
    )
    with pytest.raises(DomainError, match=r"already answered .*'right'"):
        await service.daily.answer(GUILD, post.id, 1, 1)
    wrong = await service.daily.answer(GUILD, post.id, 2, 1)
    assert not wrong.correct and wrong.points == 0 and wrong.right_answer == "right"
    assert await service.daily.counts(post.id) == (2, 1)
    assert (await service.points.stats(GUILD, 1)).total == 10


async def test_concurrent_double_clicks_count_once(services: Services, clock: FixedClock) -> None:
    service = small_service(services, (quiz("only-one", "python"),))
    await configure(services)
    post = await post_today(service, clock)
    clicks = [service.daily.answer(GUILD, post.id, user, 0) for user in (1, 2, 3) for _ in range(5)]
    results = await asyncio.gather(*clicks, return_exceptions=True)
    accepted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(accepted) == 3 and len(refused) == 12
    assert await service.daily.counts(post.id) == (3, 3)
    assert await services.db.fetch_value("SELECT SUM(points) FROM challenge_points") == 30


async def test_hint_lowers_points_only_before_answering(
    services: Services, clock: FixedClock
) -> None:
    service = small_service(services, (quiz("only-one", "python"),))
    await configure(services)
    post = await post_today(service, clock)
    challenge, costs = await service.daily.hint(GUILD, post.id, 1)
    assert costs and challenge.hint == "h"
    assert (await service.daily.answer(GUILD, post.id, 1, 0)).points == 5
    await service.daily.answer(GUILD, post.id, 2, 0)
    assert (await service.daily.hint(GUILD, post.id, 2))[1] is False


async def test_answers_after_the_deadline_and_from_another_server(
    services: Services, clock: FixedClock
) -> None:
    service = small_service(services, (quiz("only-one", "python"),))
    await configure(services)
    post = await post_today(service, clock)
    with pytest.raises(NotFound):
        await service.daily.answer(GUILD + 1, post.id, 1, 0)
    with pytest.raises(DomainError, match="not part of this quiz"):
        await service.daily.answer(GUILD, post.id, 1, 4)
    clock.advance(hours=24)
    with pytest.raises(DomainError, match="closed at 2026-03-03 10:00"):
        await service.daily.answer(GUILD, post.id, 1, 0)
    assert await service.daily.counts(post.id) == (0, 0)


async def test_streak_counts_consecutive_solved_days(services: Services, clock: FixedClock) -> None:
    bank = tuple(quiz(f"c-{n}", TOPICS[n]) for n in range(6))
    service = small_service(services, bank)
    await configure(services)
    for day in range(4):
        post = await post_today(service, clock)
        if day != 0:
            await service.daily.answer(GUILD, post.id, 1, 0)
        clock.advance(days=1)
    assert await service.points.streak(GUILD, 1) == 3
    await post_today(service, clock)  # today's is open and not answered yet: no break
    assert await service.points.streak(GUILD, 1) == 3
    clock.advance(days=1)
    await post_today(service, clock)
    assert await service.points.streak(GUILD, 1) == 0  # yesterday's was missed


async def test_practice_never_offers_the_open_daily(services: Services, clock: FixedClock) -> None:
    bank = (quiz("a-one", "python"), quiz("b-two", "python"))
    service = small_service(services, bank)
    await configure(services)
    post = await post_today(service, clock)
    for _ in range(10):
        assert (await service.daily.practice(GUILD, "foundations")).id != post.challenge.id
    with pytest.raises(DomainError, match="today's daily challenge"):
        await service.daily.check_practice(GUILD, post.challenge.id, 0)
    other = next(c for c in bank if c.id != post.challenge.id)
    assert (await service.daily.check_practice(GUILD, other.id, 0)).correct
    assert await services.db.fetch_value("SELECT count(*) FROM challenge_points") == 0


async def test_practice_filters_and_falls_back(services: Services) -> None:
    daily = services.challenges.daily
    assert (await daily.practice(GUILD, "production", "ai_safety")).topic == "ai_safety"
    assert (await daily.practice(GUILD, "foundations", "rag")).topic == "rag"  # phase relaxed
    assert (await daily.practice(GUILD, None, None)).is_quiz


async def test_month_top_due_once_per_month(services: Services, clock: FixedClock) -> None:
    service = small_service(services, (quiz("only-one", "python"),))
    await configure(services)
    post = await post_today(service, clock)
    await service.daily.answer(GUILD, post.id, 1, 0)
    clock.set(clock.now().replace(day=31, hour=23))
    (due,) = await service.due_month_tops(clock.now())
    assert due.month == "2026-02" and due.standings == ()
    assert await services.scheduled_posts.claim(GUILD, "challenge:month-top", due.month)
    assert await service.due_month_tops(clock.now()) == []
    clock.advance(hours=2)  # April 1st: March is over
    (due,) = await service.due_month_tops(clock.now())
    assert due.month == "2026-03" and [(s.user_id, s.points) for s in due.standings] == [(1, 10)]
    assert (await service.points.leaderboard(GUILD, "month")) == []
    assert [s.points for s in await service.points.leaderboard(GUILD, "all")] == [10]


async def test_leaderboard_periods_and_ties(services: Services, clock: FixedClock) -> None:
    service = small_service(services, (quiz("only-one", "python"),))
    await configure(services)
    post = await post_today(service, clock)
    for user in (1, 2, 3):
        await service.daily.answer(GUILD, post.id, user, 0 if user < 3 else 1)
    board = await service.points.leaderboard(GUILD, "week")
    assert [(s.rank, s.user_id) for s in board] == [(1, 1), (1, 2)]
    clock.advance(days=7)
    assert await service.points.leaderboard(GUILD, "week") == []
    with pytest.raises(DomainError):
        await service.points.leaderboard(GUILD, "decade")


async def test_open_challenges_for_the_no_spoilers_rule(
    services: Services, clock: FixedClock
) -> None:
    service = small_service(services, (quiz("only-one", "python"),))
    await configure(services)
    assert await service.open_challenges(GUILD) == []
    await post_today(service, clock)
    (daily,) = await service.open_challenges(GUILD)
    assert daily.kind == "daily" and daily.answer.startswith("right")
    clock.advance(days=1, seconds=1)
    assert await service.open_challenges(GUILD) == []
    assert await service.open_challenges(GUILD + 1) == []


async def test_two_different_clicks_at_once_keep_the_first(
    services: Services, clock: FixedClock
) -> None:
    """Whichever click commits first is the answer; the other is told what was picked. On
    PostgreSQL the two run on two connections, so either may be first."""
    service = small_service(services, (quiz("only-one", "python"),))
    await configure(services)
    post = await post_today(service, clock)
    await service.daily.hint(GUILD, post.id, 1)
    clicks = (2, 0)
    results = await asyncio.gather(
        *(service.daily.answer(GUILD, post.id, 1, option) for option in clicks),
        return_exceptions=True,
    )
    ((option, winner),) = [
        (o, r) for o, r in zip(clicks, results, strict=True) if not isinstance(r, BaseException)
    ]
    (loser,) = [r for r in results if isinstance(r, BaseException)]
    assert winner.correct == (option == 0) and winner.chosen == ("other" if option else "right")
    assert isinstance(loser, DomainError) and f"you picked '{winner.chosen}'" in loser.message
    row = await services.db.fetch_one(
        "SELECT option_index, used_hint FROM daily_answers WHERE user_id = 1"
    )
    assert tuple(row) == (option, 1)
    assert await service.daily.counts(post.id) == (1, int(winner.correct))


async def test_a_bank_update_never_changes_a_posted_challenge(
    services: Services, clock: FixedClock
) -> None:
    """A server on an older bank updates while a daily quiz is open: the post keeps the
    options, answer and explanation members saw, and earned points stay."""
    before = quiz("c-posted", "python")  # "right", "wrong", "other"; the first is right
    await configure(services)
    post = await post_today(small_service(services, (before,)), clock)
    assert (await small_service(services, (before,)).daily.answer(GUILD, post.id, 1, 0)).correct

    # The update reorders the options (the right one moves to the end) and rewords a hint.
    reordered = replace(before, options=("wrong", "other", "right"), correct_index=2, hint="x")
    after = small_service(services, (reordered,))
    second = await after.daily.answer(GUILD, post.id, 2, 0)  # the button that said "right"
    assert second.correct and second.chosen == "right"
    assert (await after.daily.hint(GUILD, post.id, 3))[0].hint == "h"

    # A later update drops the challenge from the bank altogether.
    dropped = small_service(services, (quiz("c-other", "dsa"),))
    latest = await dropped.daily.latest(GUILD)
    assert latest is not None and latest.challenge.options == before.options
    third = await dropped.daily.answer(GUILD, post.id, 4, 1)
    assert not third.correct and third.right_answer == "right"
    assert await services.db.fetch_value("SELECT sum(points) FROM challenge_points") == (
        2 * services.settings.challenge_daily_points
    )
