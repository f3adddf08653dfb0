"""Portfolio reviews: submitting, the state machine, races, queue, history and statistics."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import cast

import pytest

from bot.clock import FixedClock
from bot.errors import DomainError, NotFound, PermissionDenied
from bot.services.portfolio import PortfolioService
from bot.services.portfolio.drafts import request_draft
from bot.services.portfolio.models import Actor, Request, Status
from bot.wiring import Services
from tests.portfolio_helpers import (
    GUILD,
    MODERATOR,
    OWNER,
    REX,
    RITA,
    STRANGER,
    a_resubmission,
    a_review,
    reviewed,
    reviewer,
    submit,
)


@pytest.fixture
def svc(services: Services) -> PortfolioService:
    return services.portfolio


async def snapshot(svc: PortfolioService) -> list[tuple]:
    rows = await svc.db.fetch_all("SELECT * FROM portfolio_requests ORDER BY id")
    reviews = await svc.db.fetch_all("SELECT * FROM portfolio_reviews ORDER BY id")
    return [tuple(r) for r in rows] + [tuple(r) for r in reviews]


# --- Submitting -----------------------------------------------------------------


async def test_submit_stores_an_open_request_with_its_post(svc: PortfolioService) -> None:
    request = await submit(svc)
    assert request.status is Status.OPEN
    assert request.round == 1 and request.project_id == request.id
    assert request.post is not None and request.post.thread_id == 800
    assert (await svc.get(GUILD, request.id)).title == "Docs assistant"


async def test_open_request_limit_counts_open_and_claimed_only(svc: PortfolioService) -> None:
    first = await submit(svc)
    await submit(svc, title="Second")
    with pytest.raises(DomainError, match="limit is 2"):
        await svc.ensure_can_submit(GUILD, OWNER)
    with pytest.raises(DomainError, match=f"#{first.id}"):
        await submit(svc, title="Third")
    assert await svc.db.fetch_value("SELECT count(*) FROM portfolio_requests") == 2
    await svc.claim(GUILD, first.id, reviewer(RITA))
    with pytest.raises(DomainError):
        await submit(svc, title="Still third")
    await svc.withdraw(GUILD, first.id, Actor(OWNER))
    await submit(svc, title="Third at last")
    await submit(svc, guild=GUILD + 1, title="Another server has its own limit")


async def test_discarding_an_unposted_request_frees_the_slot(svc: PortfolioService) -> None:
    request = await submit(svc, posted=False)
    await svc.discard_unposted(GUILD, request.id)
    with pytest.raises(NotFound):
        await svc.get(GUILD, request.id)
    posted = await submit(svc)
    await svc.discard_unposted(GUILD, posted.id)
    assert (await svc.get(GUILD, posted.id)).status is Status.OPEN


async def test_a_request_is_invisible_from_another_server(svc: PortfolioService) -> None:
    request = await submit(svc)
    with pytest.raises(NotFound, match="in this server"):
        await svc.get(GUILD + 1, request.id)
    with pytest.raises(NotFound):
        await svc.claim(GUILD + 1, request.id, reviewer(RITA))
    assert (await svc.get(GUILD, request.id)).status is Status.OPEN


async def test_mention_spam_is_stored_as_typed(svc: PortfolioService) -> None:
    spam = "@everyone @here <@123> <@&456> look at this"
    draft = request_draft(
        svc.rubric,
        archetype="other",
        title=spam,
        repo_url="https://github.com/x/y",
        demo_url="",
        description=spam * 3,
        feedback_wanted=spam,
        self_check="skipped",
    )
    request = await svc.submit(GUILD, OWNER, draft)
    assert request.title == spam and request.feedback_wanted == spam
    assert request.demo_url is None


# --- The state machine: every illegal transition ------------------------------------


async def in_state(svc: PortfolioService, state: Status) -> Request:
    request = await submit(svc)
    if state in (Status.CLAIMED, Status.REVIEWED):
        await svc.claim(GUILD, request.id, reviewer(RITA))
    if state is Status.REVIEWED:
        await svc.submit_review(GUILD, request.id, reviewer(RITA), a_review(svc))
    if state is Status.WITHDRAWN:
        await svc.withdraw(GUILD, request.id, Actor(OWNER))
    if state is Status.EXPIRED:
        svc.clock.advance(days=31)
        await svc.expire_stale(svc.clock.now())
    return await svc.get(GUILD, request.id)


def attempts(svc: PortfolioService, request_id: int) -> dict[str, Callable[[], Awaitable[object]]]:
    """Every action by every kind of member, as (name, coroutine factory)."""
    return {
        "claim by reviewer": lambda: svc.claim(GUILD, request_id, reviewer(REX)),
        "claim by claimant": lambda: svc.claim(GUILD, request_id, reviewer(RITA)),
        "claim by owner": lambda: svc.claim(GUILD, request_id, Actor(OWNER, is_reviewer=True)),
        "claim by plain member": lambda: svc.claim(GUILD, request_id, Actor(STRANGER)),
        "unclaim by claimant": lambda: svc.unclaim(GUILD, request_id, reviewer(RITA)),
        "unclaim by other reviewer": lambda: svc.unclaim(GUILD, request_id, reviewer(REX)),
        "unclaim by moderator": lambda: svc.unclaim(GUILD, request_id, MODERATOR),
        "review by claimant": lambda: svc.submit_review(
            GUILD, request_id, reviewer(RITA), a_review(svc)
        ),
        "review by other reviewer": lambda: svc.submit_review(
            GUILD, request_id, reviewer(REX), a_review(svc)
        ),
        "withdraw by owner": lambda: svc.withdraw(GUILD, request_id, Actor(OWNER)),
        "withdraw by reviewer": lambda: svc.withdraw(GUILD, request_id, reviewer(RITA)),
        "rate by owner": lambda: svc.rate(GUILD, request_id, Actor(OWNER), 4, None),
        "rate by reviewer": lambda: svc.rate(GUILD, request_id, reviewer(RITA), 5, None),
        "transfer by moderator": lambda: svc.transfer(
            GUILD, request_id, MODERATOR, REX, target_is_reviewer=True
        ),
        "transfer to owner": lambda: svc.transfer(
            GUILD, request_id, MODERATOR, OWNER, target_is_reviewer=True
        ),
        "transfer to claimant": lambda: svc.transfer(
            GUILD, request_id, MODERATOR, RITA, target_is_reviewer=True
        ),
        "transfer to non-reviewer": lambda: svc.transfer(
            GUILD, request_id, MODERATOR, STRANGER, target_is_reviewer=False
        ),
        "transfer by reviewer": lambda: svc.transfer(
            GUILD, request_id, reviewer(RITA), REX, target_is_reviewer=True
        ),
        "resubmit by owner": lambda: svc.resubmit(GUILD, OWNER, request_id, a_resubmission()),
        "resubmit by other": lambda: svc.resubmit(GUILD, STRANGER, request_id, a_resubmission()),
    }


LEGAL = {
    Status.OPEN: {"claim by reviewer", "claim by claimant", "withdraw by owner"},
    Status.CLAIMED: {
        "unclaim by claimant",
        "unclaim by moderator",
        "review by claimant",
        "withdraw by owner",
        "transfer by moderator",
    },
    Status.REVIEWED: {"rate by owner", "resubmit by owner"},
    Status.WITHDRAWN: set(),
    Status.EXPIRED: set(),
}
ACTIONS = sorted(attempts(cast(PortfolioService, None), 0))  # names only: nothing runs


@pytest.mark.parametrize("state", list(Status))
@pytest.mark.parametrize("action", ACTIONS)
async def test_every_illegal_transition_is_refused_and_changes_nothing(
    svc: PortfolioService, state: Status, action: str
) -> None:
    request = await in_state(svc, state)
    assert request.status is state
    run = attempts(svc, request.id)[action]
    if action in LEGAL[state]:
        await run()
        return
    before = await snapshot(svc)
    with pytest.raises(DomainError) as refused:
        await run()
    assert refused.value.message.strip() and len(refused.value.message) < 300
    assert await snapshot(svc) == before


@pytest.mark.parametrize(
    ("state", "action", "reason"),
    [
        (Status.OPEN, "claim by owner", "your own project"),
        (Status.OPEN, "claim by plain member", "Only reviewers and moderators"),
        (Status.CLAIMED, "claim by reviewer", "just before you"),
        (Status.CLAIMED, "claim by claimant", "already claimed"),
        (Status.CLAIMED, "review by other reviewer", "only they can submit"),
        (Status.CLAIMED, "unclaim by other reviewer", "Only the reviewer who claimed"),
        (Status.OPEN, "unclaim by claimant", "Nobody has claimed"),
        (Status.OPEN, "review by claimant", "Claim request"),
        (Status.WITHDRAWN, "review by claimant", "withdrawn by its owner"),
        (Status.EXPIRED, "claim by reviewer", "expired without a review"),
        (Status.REVIEWED, "withdraw by owner", "already been reviewed"),
        (Status.OPEN, "withdraw by reviewer", "Only the member who asked"),
        (Status.OPEN, "rate by owner", "no review to rate"),
        (Status.REVIEWED, "rate by reviewer", "Only the owner"),
        (Status.OPEN, "transfer by moderator", "isn't claimed"),
        (Status.CLAIMED, "transfer to owner", "its own owner"),
        (Status.CLAIMED, "transfer to claimant", "already holds"),
        (Status.CLAIMED, "transfer to non-reviewer", "isn't a reviewer"),
        (Status.CLAIMED, "transfer by reviewer", "Only moderators"),
        (Status.OPEN, "resubmit by owner", "Only a reviewed request"),
        (Status.REVIEWED, "resubmit by other", "Only the owner"),
    ],
)
async def test_refusals_say_why(
    svc: PortfolioService, state: Status, action: str, reason: str
) -> None:
    request = await in_state(svc, state)
    with pytest.raises(DomainError, match=reason):
        await attempts(svc, request.id)[action]()


async def test_permission_refusals_are_permission_errors(svc: PortfolioService) -> None:
    request = await submit(svc)
    with pytest.raises(PermissionDenied):
        await svc.claim(GUILD, request.id, Actor(OWNER, is_reviewer=True))


async def test_second_rating_is_refused(svc: PortfolioService) -> None:
    request = await reviewed(svc)
    outcome = await svc.rate(GUILD, request.id, Actor(OWNER), 4, "Very concrete, thanks")
    assert outcome.review.helpful == 4 and outcome.review.rating_comment == "Very concrete, thanks"
    with pytest.raises(DomainError, match=r"already rated .*\(4/5\)"):
        await svc.rate(GUILD, request.id, Actor(OWNER), 1, None)
    with pytest.raises(DomainError, match="already rated"):
        await svc.ensure_can_rate(GUILD, request.id, Actor(OWNER))


@pytest.mark.parametrize("helpful", [0, 6, -1])
async def test_rating_outside_one_to_five_is_refused(svc: PortfolioService, helpful: int) -> None:
    request = await reviewed(svc)
    with pytest.raises(DomainError, match="1 to 5"):
        await svc.rate(GUILD, request.id, Actor(OWNER), helpful, None)
    assert (await svc.review_of(request.id)).helpful is None


async def test_unclaim_and_transfer_keep_the_request_consistent(svc: PortfolioService) -> None:
    request = await submit(svc)
    await svc.claim(GUILD, request.id, reviewer(RITA))
    moved = await svc.transfer(GUILD, request.id, MODERATOR, REX, target_is_reviewer=True)
    assert moved.previous_reviewer_id == RITA and moved.request.reviewer_id == REX
    with pytest.raises(DomainError):
        await svc.ensure_can_review(GUILD, request.id, reviewer(RITA))
    back = await svc.unclaim(GUILD, request.id, reviewer(REX))
    assert back.request.status is Status.OPEN and back.request.reviewer_id is None
    assert back.previous_reviewer_id == REX


async def test_every_transition_bumps_the_post_version(svc: PortfolioService) -> None:
    request = await submit(svc)
    versions = [request.post_version]
    versions.append((await svc.claim(GUILD, request.id, reviewer(RITA))).request.post_version)
    outcome = await svc.submit_review(GUILD, request.id, reviewer(RITA), a_review(svc))
    versions.append(outcome.request.post_version)
    versions.append((await svc.rate(GUILD, request.id, Actor(OWNER), 5, None)).request.post_version)
    assert versions == sorted(set(versions))


# --- Races ----------------------------------------------------------------------------


async def test_two_reviewers_claiming_at_once_one_wins_the_other_is_told(
    svc: PortfolioService,
) -> None:
    request = await submit(svc)
    results = await asyncio.gather(
        svc.claim(GUILD, request.id, reviewer(RITA)),
        svc.claim(GUILD, request.id, reviewer(REX)),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    losses = [r for r in results if isinstance(r, DomainError)]
    assert len(wins) == 1 and len(losses) == 1
    assert "just before you" in losses[0].message
    stored = await svc.get(GUILD, request.id)
    assert stored.status is Status.CLAIMED
    assert stored.reviewer_id == wins[0].request.reviewer_id


async def test_many_claims_at_once_still_one_winner(svc: PortfolioService) -> None:
    request = await submit(svc)
    results = await asyncio.gather(
        *(svc.claim(GUILD, request.id, reviewer(100 + n)) for n in range(8)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, DomainError) for r in results if isinstance(r, Exception))


async def test_review_racing_a_withdrawal_never_reviews_a_withdrawn_request(
    svc: PortfolioService,
) -> None:
    request = await submit(svc)
    await svc.claim(GUILD, request.id, reviewer(RITA))
    results = await asyncio.gather(
        svc.withdraw(GUILD, request.id, Actor(OWNER)),
        svc.submit_review(GUILD, request.id, reviewer(RITA), a_review(svc)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, DomainError) for r in results) == 1
    stored = await svc.get(GUILD, request.id)
    has_review = await svc.review_of(request.id) is not None
    assert (stored.status is Status.REVIEWED) == has_review
    assert stored.status in (Status.REVIEWED, Status.WITHDRAWN)


async def test_two_submissions_at_once_respect_the_limit(svc: PortfolioService) -> None:
    await submit(svc)
    results = await asyncio.gather(
        submit(svc, title="One more"), submit(svc, title="And another"), return_exceptions=True
    )
    assert sum(isinstance(r, DomainError) for r in results) == 1
    assert await svc.db.fetch_value("SELECT count(*) FROM portfolio_requests") == 2


# --- Give to get and the queue ---------------------------------------------------------


async def test_queue_is_oldest_first_and_reviewers_move_up(
    svc: PortfolioService, clock: FixedClock
) -> None:
    early = await submit(svc, 50, title="Early bird")
    clock.advance(hours=10)
    # Member 60 reviews someone else's project, then asks for a review of their own.
    other = await submit(svc, 70, title="Someone else")
    await svc.claim(GUILD, other.id, reviewer(60))
    await svc.submit_review(GUILD, other.id, reviewer(60), a_review(svc))
    clock.advance(hours=2)
    giver = await submit(svc, 60, title="Giver")
    clock.advance(hours=1)
    late = await submit(svc, 80, title="Late")

    page = await svc.queue(GUILD)
    assert [e.request.id for e in page.entries] == [giver.id, early.id, late.id]
    assert page.entries[0].moved_up.total_seconds() == 24 * 3600
    assert "reviewed 1 project for others" in page.entries[0].reasons[0]
    assert page.entries[1].reasons == ("in order of arrival",)
    assert [e.position for e in page.entries] == [1, 2, 3]
    assert page.entries[1].waiting.total_seconds() == 13 * 3600


async def test_reviews_outside_the_window_earn_no_credit(
    svc: PortfolioService, clock: FixedClock
) -> None:
    other = await submit(svc, 70)
    await svc.claim(GUILD, other.id, reviewer(60))
    await svc.submit_review(GUILD, other.id, reviewer(60), a_review(svc))
    clock.advance(days=31)
    mine = await submit(svc, 60)
    assert mine.credit_reviews == 0 and mine.queue_at == mine.created_at


async def test_credit_is_capped(svc: PortfolioService, services: Services) -> None:
    for n in range(5):
        other = await submit(svc, 200 + n)
        await svc.claim(GUILD, other.id, reviewer(60))
        await svc.submit_review(GUILD, other.id, reviewer(60), a_review(svc))
    mine = await submit(svc, 60)
    assert mine.credit_reviews == services.settings.portfolio_give_to_get_max_reviews


async def test_queue_filters_by_type_and_pages(svc: PortfolioService) -> None:
    for n in range(7):
        await submit(svc, 300 + n, archetype="edge_cv" if n % 2 else "rag_app")
    page1 = await svc.queue(GUILD)
    assert (page1.total, page1.pages, len(page1.entries)) == (7, 2, 5)
    page2 = await svc.queue(GUILD, page=2)
    assert [e.position for e in page2.entries] == [6, 7]
    assert (await svc.queue(GUILD, page=99)).page == 2
    edge = await svc.queue(GUILD, archetype="edge_cv")
    assert edge.total == 3 and {e.request.archetype for e in edge.entries} == {"edge_cv"}
    with pytest.raises(DomainError, match="not a project type"):
        await svc.queue(GUILD, archetype="'; DROP TABLE portfolio_requests; --")


async def test_claimed_requests_leave_the_queue_and_come_back(svc: PortfolioService) -> None:
    request = await submit(svc)
    await svc.claim(GUILD, request.id, reviewer(RITA))
    assert (await svc.queue(GUILD)).total == 0
    await svc.unclaim(GUILD, request.id, reviewer(RITA))
    assert [e.request.id for e in (await svc.queue(GUILD)).entries] == [request.id]


# --- Resubmission and history -----------------------------------------------------------


async def test_resubmission_links_rounds_with_history_and_trend(
    svc: PortfolioService, clock: FixedClock
) -> None:
    first = await reviewed(svc)
    clock.advance(days=3)
    second = await svc.resubmit(GUILD, OWNER, first.id, a_resubmission())
    assert (second.round, second.previous_id, second.root_id) == (2, first.id, first.id)
    assert second.title == first.title and second.archetype == first.archetype
    assert second.change_note.startswith("Added an evaluation set")
    await svc.claim(GUILD, second.id, reviewer(REX))
    await svc.submit_review(GUILD, second.id, reviewer(REX), a_review(svc, "5 4 5 4 5"))
    clock.advance(days=1)
    third = await svc.resubmit(GUILD, OWNER, second.id, a_resubmission("Wrote a proper README."))
    history = await svc.history(third)
    assert [r.request.round for r in history.rounds] == [1, 2, 3]
    assert history.trend("deployment") == (2, 4)
    assert history.trend("data") == (3, 4)
    assert history.averages() == (3.6, 4.6)
    assert history.rounds[-1].review is None


async def test_an_older_round_cannot_be_resubmitted_twice(svc: PortfolioService) -> None:
    first = await reviewed(svc)
    await svc.resubmit(GUILD, OWNER, first.id, a_resubmission())
    with pytest.raises(DomainError, match="Round 2 of this project already exists"):
        await svc.resubmit(GUILD, OWNER, first.id, a_resubmission())
    with pytest.raises(DomainError, match="already exists"):
        await svc.ensure_can_resubmit(GUILD, OWNER, first.id)


async def test_withdrawn_later_round_allows_resubmitting_again(svc: PortfolioService) -> None:
    first = await reviewed(svc)
    second = await svc.resubmit(GUILD, OWNER, first.id, a_resubmission())
    await svc.withdraw(GUILD, second.id, Actor(OWNER))
    third = await svc.resubmit(GUILD, OWNER, first.id, a_resubmission())
    assert third.round == 3 and third.previous_id == first.id


async def test_resubmission_respects_the_open_limit(svc: PortfolioService) -> None:
    first = await reviewed(svc)
    await submit(svc, title="Two")
    await submit(svc, title="Three")
    with pytest.raises(DomainError, match="limit is 2"):
        await svc.resubmit(GUILD, OWNER, first.id, a_resubmission())


# --- Mine, search and statistics --------------------------------------------------------


async def test_mine_lists_only_the_members_requests_newest_first(svc: PortfolioService) -> None:
    first = await reviewed(svc)
    second = await submit(svc, title="Edge camera", archetype="edge_cv")
    await submit(svc, STRANGER, title="Not mine")
    page = await svc.mine(GUILD, OWNER)
    assert [r.id for r in page.requests] == [second.id, first.id]
    assert page.total == 2
    assert (await svc.mine(GUILD + 1, OWNER)).total == 0


async def test_search_for_autocomplete_escapes_wildcards(svc: PortfolioService) -> None:
    a = await submit(svc, title="Edge camera")
    await submit(svc, STRANGER, title="Half % done")
    assert [r.id for r in await svc.search(GUILD, "camera", owner_id=OWNER)] == [a.id]
    assert [r.title for r in await svc.search(GUILD, "%")] == ["Half % done"]
    assert [r.id for r in await svc.search(GUILD, f"#{a.id}")] == [a.id]
    assert await svc.search(GUILD, "_") == []
    assert await svc.search(GUILD, "", statuses=[Status.REVIEWED]) == []


async def test_stats_count_requests_time_to_review_and_reviewer_ratings(
    svc: PortfolioService, clock: FixedClock
) -> None:
    empty = await svc.stats(GUILD)
    assert empty.total == 0 and empty.median_to_review is None and empty.reviewers == ()
    waits = [10, 30, 20]
    for n, hours in enumerate(waits):
        request = await submit(svc, 400 + n)
        clock.advance(hours=hours)
        who = RITA if n < 2 else REX
        await svc.claim(GUILD, request.id, reviewer(who))
        await svc.submit_review(GUILD, request.id, reviewer(who), a_review(svc))
        await svc.rate(GUILD, request.id, Actor(400 + n), 5 - n, None)
    await submit(svc, 500)
    stats = await svc.stats(GUILD)
    assert stats.total == 4
    assert stats.by_status["reviewed"] == 3 and stats.by_status["open"] == 1
    assert stats.median_to_review.total_seconds() == 20 * 3600
    top = stats.reviewers[0]
    assert (top.reviewer_id, top.reviews, top.ratings, top.average_helpful) == (RITA, 2, 2, 4.5)
    assert (stats.reviewers[1].reviewer_id, stats.reviewers[1].reviews) == (REX, 1)
    assert (await svc.stats(GUILD + 1)).total == 0
