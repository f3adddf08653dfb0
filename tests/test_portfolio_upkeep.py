"""Portfolio upkeep and privacy: nudges, reminders, returns, expiry, export and erasure."""

from __future__ import annotations

import asyncio

import pytest

from bot.clock import FixedClock
from bot.services.contracts import MemberDataSource
from bot.services.portfolio import PortfolioService
from bot.services.portfolio.models import Actor, Status
from bot.services.portfolio.privacy import ERASED
from bot.wiring import Services
from tests.portfolio_helpers import (
    GUILD,
    OWNER,
    REX,
    RITA,
    a_resubmission,
    a_review,
    reviewed,
    reviewer,
    submit,
)


@pytest.fixture
def svc(services: Services) -> PortfolioService:
    return services.portfolio


async def test_unclaimed_requests_are_due_after_48_hours_once(
    svc: PortfolioService, clock: FixedClock
) -> None:
    request = await submit(svc)
    clock.advance(hours=47, minutes=59)
    assert await svc.unclaimed_due(clock.now()) == {}
    clock.advance(minutes=1)
    due = await svc.unclaimed_due(clock.now())
    assert [r.id for r in due[GUILD]] == [request.id]
    await svc.mark_nudged([request.id], clock.now())
    clock.advance(days=3)
    assert await svc.unclaimed_due(clock.now()) == {}


async def test_a_request_back_in_the_queue_can_be_raised_again(
    svc: PortfolioService, clock: FixedClock
) -> None:
    request = await submit(svc)
    clock.advance(hours=49)
    await svc.mark_nudged([request.id], clock.now())
    await svc.claim(GUILD, request.id, reviewer(RITA))
    await svc.unclaim(GUILD, request.id, reviewer(RITA))
    clock.advance(hours=47)
    assert await svc.unclaimed_due(clock.now()) == {}
    clock.advance(hours=2)
    assert [r.id for r in (await svc.unclaimed_due(clock.now()))[GUILD]] == [request.id]


async def test_claimed_requests_are_not_nudged(svc: PortfolioService, clock: FixedClock) -> None:
    request = await submit(svc)
    await svc.claim(GUILD, request.id, reviewer(RITA))
    clock.advance(days=3)
    assert await svc.unclaimed_due(clock.now()) == {}


async def test_reviewer_reminder_is_claimed_exactly_once(
    svc: PortfolioService, clock: FixedClock
) -> None:
    request = await submit(svc)
    await svc.claim(GUILD, request.id, reviewer(RITA))
    clock.advance(hours=71)
    assert await svc.reminders_due(clock.now()) == []
    clock.advance(hours=1)
    due = await svc.reminders_due(clock.now())
    assert [r.id for r in due] == [request.id]
    wins = await asyncio.gather(*(svc.claim_reminder(due[0], clock.now()) for _ in range(3)))
    assert [w.reviewer_id for w in wins if w is not None] == [RITA]
    assert await svc.reminders_due(clock.now()) == []


async def test_a_transfer_restarts_the_reminder_clock(
    svc: PortfolioService, clock: FixedClock
) -> None:
    request = await submit(svc)
    await svc.claim(GUILD, request.id, reviewer(RITA))
    clock.advance(hours=73)
    stale = (await svc.reminders_due(clock.now()))[0]
    moderator = Actor(99, is_reviewer=True, is_moderator=True)
    await svc.transfer(GUILD, request.id, moderator, REX, target_is_reviewer=True)
    assert await svc.claim_reminder(stale, clock.now()) is None
    assert await svc.reminders_due(clock.now()) == []


async def test_claims_return_to_the_queue_after_seven_days_once(
    svc: PortfolioService, clock: FixedClock
) -> None:
    request = await submit(svc)
    await svc.claim(GUILD, request.id, reviewer(RITA))
    clock.advance(days=6, hours=23)
    assert await svc.return_stale_claims(clock.now()) == []
    clock.advance(hours=1)
    returned = await svc.return_stale_claims(clock.now())
    assert [(t.request.id, t.previous_reviewer_id) for t in returned] == [(request.id, RITA)]
    stored = returned[0].request
    assert stored.status is Status.OPEN and stored.reviewer_id is None
    assert stored.returned_count == 1 and stored.open_since == clock.now()
    assert await svc.return_stale_claims(clock.now()) == []
    queue = await svc.queue(GUILD)
    assert "claim ended without a review" in " ".join(queue.entries[0].reasons)


async def test_open_requests_expire_after_thirty_days(
    svc: PortfolioService, clock: FixedClock
) -> None:
    old = await submit(svc)
    clock.advance(days=10)
    young = await submit(svc, title="Younger")
    clock.advance(days=20)
    expired = await svc.expire_stale(clock.now())
    assert [r.id for r in expired] == [old.id]
    assert expired[0].status is Status.EXPIRED and expired[0].closed_at == clock.now()
    assert await svc.expire_stale(clock.now()) == []
    assert (await svc.get(GUILD, young.id)).status is Status.OPEN
    await submit(svc, title="A freed slot")


async def test_stale_posts_until_synced(svc: PortfolioService) -> None:
    request = await submit(svc)
    assert [r.id for r in await svc.stale_posts()] == [request.id]
    await svc.mark_post_synced(request.id, request.post_version)
    assert await svc.stale_posts() == []
    moved = await svc.claim(GUILD, request.id, reviewer(RITA))
    assert [r.id for r in await svc.stale_posts()] == [request.id]
    await svc.mark_post_synced(request.id, request.post_version)  # an older render
    assert [r.id for r in await svc.stale_posts()] == [request.id]
    await svc.mark_post_synced(request.id, moved.request.post_version)
    await svc.forget_post(request.id)  # the post was deleted: nothing left to edit
    assert (await svc.get(GUILD, request.id)).post is None
    await svc.unclaim(GUILD, request.id, reviewer(RITA))
    assert await svc.stale_posts() == []


# --- Privacy ---------------------------------------------------------------------------


async def test_service_is_a_member_data_source(svc: PortfolioService) -> None:
    assert isinstance(svc, MemberDataSource)
    assert svc.privacy_section == "portfolio"


async def test_export_has_requests_reviews_received_and_written(svc: PortfolioService) -> None:
    mine = await reviewed(svc)
    theirs = await submit(svc, 77)
    await svc.claim(GUILD, theirs.id, reviewer(OWNER))
    await svc.submit_review(GUILD, theirs.id, reviewer(OWNER), a_review(svc, "1 2 3 4 5"))
    data = await svc.export_member(OWNER)
    assert [r["id"] for r in data["requests"]] == [mine.id]
    assert data["requests"][0]["review_received"]["scores"]["deployment"] == 2
    assert [r["request_id"] for r in data["reviews_written"]] == [theirs.id]
    assert data["requests_reviewed_or_claimed"][0]["request_id"] == theirs.id
    assert await svc.export_member(12345) == {
        "requests": [],
        "reviews_written": [],
        "requests_reviewed_or_claimed": [],
    }


async def test_deleting_a_member_erases_their_requests_and_anonymises_their_reviews(
    svc: PortfolioService,
) -> None:
    first = await reviewed(svc)
    await svc.resubmit(GUILD, OWNER, first.id, a_resubmission())
    other = await submit(svc, 77)
    await svc.claim(GUILD, other.id, reviewer(RITA))
    await svc.submit_review(GUILD, other.id, reviewer(RITA), a_review(svc))
    held = await submit(svc, 78)
    await svc.claim(GUILD, held.id, reviewer(RITA))

    # Two rounds and the first round's review.
    assert await svc.delete_member(OWNER) == 3
    assert await svc.export_member(OWNER) == {
        "requests": [],
        "reviews_written": [],
        "requests_reviewed_or_claimed": [],
    }
    assert await svc.delete_member(RITA) >= 3
    review = await svc.review_of(other.id)
    assert review.reviewer_id == 0 and review.strengths == ERASED
    assert review.scores["solution"] == 5  # the anonymous score stays with the owner
    assert (await svc.get(GUILD, held.id)).status is Status.OPEN
    assert (await svc.get(GUILD, other.id)).status is Status.REVIEWED
    assert (await svc.stats(GUILD)).reviewers == ()
    assert await svc.export_member(RITA) == {
        "requests": [],
        "reviews_written": [],
        "requests_reviewed_or_claimed": [],
    }


async def test_deleting_a_guild_leaves_other_guilds_alone(svc: PortfolioService) -> None:
    await reviewed(svc)
    await submit(svc, 77)
    kept = await submit(svc, 77, guild=GUILD + 1)
    assert await svc.delete_guild(GUILD) == 3  # two requests and one review
    assert await svc.db.fetch_value("SELECT count(*) FROM portfolio_requests") == 1
    assert (await svc.get(GUILD + 1, kept.id)).status is Status.OPEN
    assert await svc.delete_guild(GUILD) == 0
