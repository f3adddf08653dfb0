"""Weekly challenges, task submissions, reviews, overrides and personal data."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import FixedClock
from bot.errors import DomainError, NotFound
from bot.services.contracts import MemberDataSource
from bot.services.guild_settings import ChannelKind
from bot.services.links import check_link
from bot.wiring import Services

GUILD, CHANNEL, MOD = 20, 2000, 900
DEADLINE = "2026-03-08 18:00"  # the Sunday after the fixed Monday


async def configure(services: Services, tz: str = "Europe/Berlin") -> None:
    await services.guild_settings.set_channel(GUILD, ChannelKind.CHALLENGE, CHANNEL)
    await services.guild_settings.set_timezone(GUILD, tz)


async def open_weekly(services: Services, **overrides: str):
    weekly_service = services.challenges.weekly
    fields = {
        "title": "Build a RAG bot",
        "brief": "Brief.",
        "rules": "Rules.",
        "deadline": DEADLINE,
    }
    weekly = await weekly_service.create(GUILD, MOD, **(fields | overrides))
    if weekly.starts_at <= services.clock.now():
        await weekly_service.mark_started(weekly.id, CHANNEL, 1, 2)
    return await weekly_service.get(GUILD, weekly.id)


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://example.com/x",
        "JaVaScRiPt:alert(1)",
        "https://exa mple.com",
        "https://",
        "https:///path-only",
        "http://a\u0000b.com",
        "https://" + "a" * 600 + ".com",
        "example.com/no-scheme",
    ],
)
def test_links_that_are_not_plain_http_are_refused(link: str) -> None:
    with pytest.raises(DomainError):
        check_link(link, label="Link")


def test_good_links_pass_and_local_ones_are_refused_as_in_portfolio_requests() -> None:
    assert check_link("  https://github.com/me/rag  ", label="Link") == "https://github.com/me/rag"
    with pytest.raises(DomainError, match="not a public host name"):
        check_link("http://localhost:8000/demo", label="Link")


async def test_create_refusals(services: Services, clock: FixedClock) -> None:
    weekly = services.challenges.weekly
    with pytest.raises(DomainError, match="No challenge channel"):
        await weekly.create(GUILD, MOD, title="t", brief="b", rules="r", deadline=DEADLINE)
    await configure(services)
    cases = {
        "in the past": {"deadline": "2026-03-01 12:00"},
        "not a date and time": {"deadline": "next friday"},
        "not a real date": {"deadline": "2026-02-30 10:00"},
        "within 60 days": {"deadline": "2027-01-01 10:00"},
        "start time is in the past": {"starts": "2026-03-01 10:00"},
        "an hour after the start": {"starts": "2026-03-08 17:30"},
        "title cannot be empty": {"title": "   "},
        "the limit is 1500": {"brief": "x" * 1501},
    }
    base = {"title": "t", "brief": "b", "rules": "r", "deadline": DEADLINE}
    for message, change in cases.items():
        with pytest.raises(DomainError, match=message):
            await weekly.create(GUILD, MOD, **(base | change))
    assert await services.db.fetch_value("SELECT count(*) FROM weekly_challenges") == 0


async def test_deadline_is_read_in_the_server_time_zone(services: Services) -> None:
    await configure(services, "Europe/Berlin")
    weekly = await open_weekly(services)
    assert weekly.deadline.isoformat() == "2026-03-08T17:00:00+00:00"  # CET is UTC+1


async def test_one_weekly_at_a_time_and_scheduled_start(
    services: Services, clock: FixedClock
) -> None:
    await configure(services)
    later = await services.challenges.weekly.create(
        GUILD, MOD, title="Later", brief="b", rules="r", deadline=DEADLINE,
        starts="2026-03-03 09:00",
    )  # fmt: skip
    assert later.status == "scheduled"
    with pytest.raises(DomainError, match="one weekly challenge at a time"):
        await open_weekly(services)
    assert await services.challenges.weekly.due_starts(clock.now()) == []
    clock.advance(days=1)
    assert [w.id for w in await services.challenges.weekly.due_starts(clock.now())] == [later.id]


async def test_submission_is_editable_until_the_deadline_then_refused(
    services: Services, clock: FixedClock
) -> None:
    await configure(services)
    weekly = await open_weekly(services)
    subs = services.challenges.submissions
    kind, ref, title, existing = await subs.target(GUILD, 1, None)
    assert (kind, ref, title, existing) == ("weekly", str(weekly.id), "Build a RAG bot", None)
    first = await subs.submit(GUILD, 1, kind, ref, "https://github.com/a/v1", "first")
    edited = await subs.submit(GUILD, 1, kind, ref, "https://github.com/a/v2", "second")
    assert not first.edited and edited.edited and edited.submission.id == first.submission.id
    assert await services.db.fetch_value("SELECT count(*) FROM challenge_submissions") == 1
    with pytest.raises(DomainError, match="only http:// and https://"):
        await subs.submit(GUILD, 1, kind, ref, "javascript:alert(1)", "x")
    with pytest.raises(DomainError, match="private or local address"):
        await subs.submit(GUILD, 1, kind, ref, "http://192.168.1.5/demo", "x")
    with pytest.raises(DomainError, match=r"link .* or a few lines"):
        await subs.submit(GUILD, 1, kind, ref, "  ", "  ")
    clock.set(weekly.deadline)
    with pytest.raises(DomainError, match="closed: the deadline has passed"):
        await subs.submit(GUILD, 1, kind, ref, "https://github.com/a/v3", "late")
    with pytest.raises(DomainError, match="No weekly challenge is taking submissions"):
        await subs.target(GUILD, 1, "weekly")
    stored = await subs.get(GUILD, first.submission.id)
    assert stored.link == "https://github.com/a/v2"


async def test_concurrent_double_submissions_make_one_row(services: Services) -> None:
    await configure(services)
    weekly = await open_weekly(services)
    subs = services.challenges.submissions
    await asyncio.gather(
        *(
            subs.submit(GUILD, 1, "weekly", str(weekly.id), f"https://x.org/{n}", "")
            for n in range(5)
        )
    )
    assert await services.db.fetch_value("SELECT count(*) FROM challenge_submissions") == 1


async def test_review_accept_reject_once_and_results(services: Services, clock: FixedClock) -> None:
    await configure(services)
    weekly = await open_weekly(services)
    subs = services.challenges.submissions
    ids = {}
    for user in (1, 2, 3, 4):
        ids[user] = (
            await subs.submit(GUILD, user, "weekly", str(weekly.id), "", f"u{user}")
        ).submission.id
    with pytest.raises(DomainError, match="from 1 to 100"):
        await subs.review(GUILD, ids[1], MOD, accept=True, comment="", points=101)
    with pytest.raises(DomainError, match="Say briefly why"):
        await subs.review(GUILD, ids[4], MOD, accept=False, comment=" ")
    with pytest.raises(DomainError, match="your own submission"):
        await subs.review(GUILD, ids[1], 1, accept=True, comment="", points=5)
    await subs.review(GUILD, ids[1], MOD, accept=True, comment="Great", points=80)
    await subs.review(GUILD, ids[2], MOD, accept=True, comment="", points=95)
    await subs.review(GUILD, ids[3], MOD, accept=True, comment="", points=60)
    outcome = await subs.review(GUILD, ids[4], MOD, accept=False, comment="No link")
    assert outcome.submission.status == "rejected" and outcome.thread_id == 2
    with pytest.raises(DomainError, match="already accepted"):
        await subs.review(GUILD, ids[1], MOD, accept=True, comment="", points=10)
    with pytest.raises(DomainError, match="already accepted"):
        await subs.submit(GUILD, 1, "weekly", str(weekly.id), "https://x.org", "change")
    assert [s.id for s in await subs.queue(GUILD, "weekly")] == []

    assert await services.challenges.weekly.due_results(clock.now()) == []
    clock.set(weekly.deadline)
    (due,) = await services.challenges.weekly.due_results(clock.now())
    results = await services.challenges.weekly.close(GUILD, due.id)
    assert [(s.rank, s.user_id, s.points) for s in results.accepted] == [
        (1, 2, 95), (2, 1, 80), (3, 3, 60)
    ]  # fmt: skip
    assert results.submissions == 4 and results.weekly.status == "closed"
    await services.challenges.weekly.mark_results_posted(weekly.id)
    assert await services.challenges.weekly.due_results(clock.now()) == []
    board = await services.challenges.points.leaderboard(GUILD, "all")
    assert [(s.user_id, s.points) for s in board] == [(2, 95), (1, 80), (3, 60)]


async def test_concurrent_reviews_count_once(services: Services) -> None:
    await configure(services)
    weekly = await open_weekly(services)
    subs = services.challenges.submissions
    sid = (await subs.submit(GUILD, 1, "weekly", str(weekly.id), "", "notes")).submission.id
    results = await asyncio.gather(
        *(subs.review(GUILD, sid, MOD + n, accept=True, comment="", points=50) for n in range(4)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert await services.db.fetch_value("SELECT SUM(points) FROM challenge_points") == 50


async def test_override_is_logged_and_changes_points(services: Services) -> None:
    await configure(services)
    weekly = await open_weekly(services)
    subs = services.challenges.submissions
    sid = (await subs.submit(GUILD, 1, "weekly", str(weekly.id), "", "notes")).submission.id
    with pytest.raises(NotFound):
        await services.challenges.weekly.override(GUILD, sid, MOD, 70, "pending, not accepted")
    await subs.review(GUILD, sid, MOD, accept=True, comment="", points=40)
    with pytest.raises(DomainError, match="Give a reason"):
        await services.challenges.weekly.override(GUILD, sid, MOD, 70, " ")
    with pytest.raises(NotFound):
        await services.challenges.weekly.override(GUILD + 1, sid, MOD, 70, "other server")
    override = await services.challenges.weekly.override(GUILD, sid, MOD, 70, "Missed the demo")
    assert (override.old_points, override.new_points) == (40, 70)
    await services.challenges.weekly.override(GUILD, sid, MOD + 1, 65, "Second look")
    log = await services.challenges.weekly.overrides(GUILD)
    assert [(o.old_points, o.new_points, o.moderator_id) for o in log] == [
        (70, 65, MOD + 1), (40, 70, MOD)
    ]  # fmt: skip
    assert (await services.challenges.points.stats(GUILD, 1)).total == 65


async def test_extend_and_cancel(services: Services, clock: FixedClock) -> None:
    await configure(services)
    weekly = await open_weekly(services)
    service = services.challenges.weekly
    with pytest.raises(DomainError, match="later than the current one"):
        await service.extend(GUILD, "2026-03-07 18:00")
    extended = await service.extend(GUILD, "2026-03-10 18:00")
    assert extended.deadline > weekly.deadline
    subs = services.challenges.submissions
    sid = (await subs.submit(GUILD, 1, "weekly", str(weekly.id), "", "n")).submission.id
    await subs.review(GUILD, sid, MOD, accept=True, comment="", points=30)
    cancelled, withdrawn = await service.cancel(GUILD)
    assert cancelled.status == "cancelled" and withdrawn == 1
    assert (await services.challenges.points.stats(GUILD, 1)).total == 0
    with pytest.raises(NotFound):
        await service.cancel(GUILD)
    clock.advance(days=30)
    assert await service.due_results(clock.now()) == []


async def test_daily_task_submission_and_review(services: Services, clock: FixedClock) -> None:
    await configure(services, "UTC")
    challenges = services.challenges
    task = next(c for c in challenges.bank.shipped if not c.is_quiz)
    for other in challenges.bank.shipped:
        if other.id != task.id:
            await services.db.execute(
                "INSERT INTO challenge_disabled VALUES (?, ?, 0, '2026-01-01 00:00:00')",
                (GUILD, other.id),
            )
    post = await challenges.daily.prepare(GUILD, "2026-03-02")
    await challenges.daily.record_posted(post.id, CHANNEL, 1, 3)
    with pytest.raises(DomainError, match="is a task"):
        await challenges.daily.answer(GUILD, post.id, 1, 0)
    kind, ref, _, _ = await challenges.submissions.target(GUILD, 1, "daily")
    sub = await challenges.submissions.submit(GUILD, 1, kind, ref, "https://github.com/t", "")
    outcome = await challenges.submissions.review(
        GUILD, sub.submission.id, MOD, accept=True, comment="ok"
    )
    assert outcome.submission.points == services.settings.challenge_task_points
    stats = await challenges.points.stats(GUILD, 1)
    assert stats.solved_by_topic == ((task.topic, 1),) and stats.streak == 1


async def test_member_data_export_and_delete(services: Services, clock: FixedClock) -> None:
    challenges = services.challenges
    assert isinstance(challenges, MemberDataSource)
    assert challenges.privacy_section == "challenges"
    await configure(services)
    weekly = await open_weekly(services)
    sid = (
        await challenges.submissions.submit(GUILD, 1, "weekly", str(weekly.id), "", "mine")
    ).submission.id
    await challenges.submissions.review(GUILD, sid, MOD, accept=True, comment="", points=20)
    await challenges.weekly.override(GUILD, sid, MOD, 25, "typo")
    await challenges.submissions.submit(GUILD, 2, "weekly", str(weekly.id), "", "theirs")
    exported = await challenges.export_member(1)
    assert [s["notes"] for s in exported["submissions"]] == ["mine"]
    assert [p["points"] for p in exported["points"]] == [25]
    assert len(exported["score_overrides"]) == 1
    removed = await challenges.delete_member(1)
    assert removed == 3  # submission, points, override
    assert await challenges.export_member(1) == {k: [] for k in exported}
    assert len((await challenges.export_member(2))["submissions"]) == 1
    await challenges.delete_member(MOD)  # the moderator's id is anonymised, rows stay
    assert await services.db.fetch_value("SELECT created_by FROM weekly_challenges") == 0
    assert await challenges.delete_guild(GUILD) >= 2
    assert await services.db.fetch_value("SELECT count(*) FROM weekly_challenges") == 0
