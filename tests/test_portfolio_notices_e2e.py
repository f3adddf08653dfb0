"""The messages a portfolio change owes people (a claim that ran out, an expiry, a review, a
rating, a withdrawal, a transfer): planned with the change of state, sent through the one
delivery helper, so a crash between the change and the message (or a failed send) delays
the message and never loses or repeats it (issue 14).

The crash is the first half of the job or form run by hand: the service makes the change
and the process is gone before any message, as if SIGKILLed right after the commit.
"""

from __future__ import annotations

from typing import Any

from bot.services.portfolio.models import Actor
from bot.services.portfolio.notices import EXPIRED_KIND, RETURNED_KIND
from tests.portfolio_helpers import a_review
from tests.test_portfolio_e2e import configure, embed_text, post_of, submit

MESSAGES = "/channels/{channel_id}/messages"


def back_in_queue(sim: Any, thread: int) -> list[Any]:
    return [m for m in sim.messages(thread) if "back in the queue" in m.content]


def returned_dms(sim: Any, user: Any) -> list[Any]:
    return [m for m in sim.dms(user) if "went back to the queue" in m.content]


def expired_dms(sim: Any, user: Any) -> list[Any]:
    return [m for m in sim.dms(user) if "expired after" in m.content]


def expired_notes(sim: Any, thread: int) -> list[Any]:
    return [m for m in sim.messages(thread) if m.content.startswith("This request expired")]


async def claimed_request(sim: Any) -> tuple[Any, int]:
    """Alice's request, claimed by Rita; returns Rita and the request's thread."""
    channel = await configure(sim)
    rita = sim.member("rita", roles=["reviewer"])
    await submit(sim, sim.member("alice"))
    await sim.click(rita, post_of(sim, channel), label="Claim")
    return rita, int(sim.threads(channel)[0]["id"])


async def notice_status(sim: Any, kind: str) -> str:
    return await sim.services.db.fetch_value(
        "SELECT status FROM scheduled_posts WHERE kind = ?", (kind,)
    )


async def test_a_crash_after_a_claim_returns_still_announces_it_once(sim: Any) -> None:
    rita, thread = await claimed_request(sim)
    sim.clock.advance(days=7, minutes=1)
    (moved,) = await sim.services.portfolio.return_stale_claims(sim.clock.now())
    assert moved.previous_reviewer_id == rita.id
    await sim.restart_bot()  # the process died before saying anything
    assert back_in_queue(sim, thread) == [] and returned_dms(sim, rita) == []
    await sim.run_scheduler()
    (note,) = back_in_queue(sim, thread)
    (dm,) = returned_dms(sim, rita)
    assert "Monday 2 March" in note.content and "Monday 2 March" in dm.content
    assert note.pinged is False
    assert await notice_status(sim, RETURNED_KIND) == "sent"
    await sim.restart_bot()
    await sim.advance(hours=2)
    assert len(back_in_queue(sim, thread)) == 1 and len(returned_dms(sim, rita)) == 1


async def test_a_crash_after_an_expiry_still_announces_it_once(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    await submit(sim, alice)
    thread = int(sim.threads(channel)[0]["id"])
    sim.clock.advance(days=30, minutes=1)
    (expired,) = await sim.services.portfolio.expire_stale(sim.clock.now())
    await sim.restart_bot()
    await sim.run_scheduler()
    (note,) = expired_notes(sim, thread)
    (dm,) = expired_dms(sim, alice)
    assert "nobody claimed it within 30 d" in note.content
    assert f"#{expired.id}" in dm.content
    assert sim.threads(channel)[0]["thread_metadata"]["archived"] is True
    await sim.advance(days=1)
    assert len(expired_notes(sim, thread)) == 1 and len(expired_dms(sim, alice)) == 1
    assert await notice_status(sim, EXPIRED_KIND) == "sent"


async def test_a_failed_notice_is_retried_after_a_back_off_not_dropped(sim: Any) -> None:
    rita, thread = await claimed_request(sim)
    await sim.advance(days=6)  # the reviewer reminder goes out first
    sim.fail_next("POST", MESSAGES, status=503, times=2)  # the thread notice and the DM
    await sim.advance(days=1, minutes=1)
    assert back_in_queue(sim, thread) == [] and returned_dms(sim, rita) == []
    await sim.advance(minutes=1)
    assert len(back_in_queue(sim, thread)) == 1 and len(returned_dms(sim, rita)) == 1
    await sim.advance(hours=1)
    assert len(back_in_queue(sim, thread)) == 1 and len(returned_dms(sim, rita)) == 1


async def test_a_notice_that_reached_discord_before_the_crash_is_not_sent_again(
    sim: Any,
) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    await submit(sim, alice)
    thread = int(sim.threads(channel)[0]["id"])
    sim.clock.advance(days=30, minutes=1)
    await sim.services.portfolio.expire_stale(sim.clock.now())
    # Discord creates the thread's message, then the answer is lost and the process dies.
    sim.fail_next("POST", MESSAGES, status=503, after_commit=True)
    await sim.run_scheduler()
    assert len(expired_notes(sim, thread)) == 1
    assert await notice_status(sim, EXPIRED_KIND) == "claimed"
    await sim.restart_bot()
    sim.server.state.time_offset += 600  # long enough for Discord to forget the nonce
    await sim.advance(minutes=6)
    assert len(expired_notes(sim, thread)) == 1  # found by its marker, not posted again
    assert len(expired_dms(sim, alice)) == 1
    assert await notice_status(sim, EXPIRED_KIND) == "sent"


async def test_a_request_erased_before_its_notice_is_not_announced(sim: Any) -> None:
    rita, thread = await claimed_request(sim)
    alice = sim.member("alice")
    thread_before = list(sim.messages(thread))
    sim.clock.advance(days=7, minutes=1)
    await sim.services.portfolio.return_stale_claims(sim.clock.now())
    await sim.restart_bot()
    asked = await sim.slash(alice, "privacy delete")
    await sim.click(alice, asked.message, label="Erase my data")
    await sim.run_scheduler()
    assert returned_dms(sim, rita) == [] and back_in_queue(sim, thread) == []
    assert len(sim.messages(thread)) <= len(thread_before)
    assert await notice_status(sim, RETURNED_KIND) == "sent"  # skipped: nothing to announce
    sim.take_problems()


async def test_the_dm_planned_for_a_reviewer_goes_with_their_erasure(sim: Any) -> None:
    """Its key names the reviewer: member data, erased with them, never sent after."""
    rita, thread = await claimed_request(sim)
    sim.clock.advance(days=7, minutes=1)
    await sim.services.portfolio.return_stale_claims(sim.clock.now())
    await sim.restart_bot()
    asked = await sim.slash(rita, "privacy delete")
    await sim.click(rita, asked.message, label="Erase my data")
    keys = await sim.services.db.fetch_all("SELECT period FROM scheduled_posts")
    assert not [k for k in keys if str(rita.id) in k[0]]
    await sim.run_scheduler()
    assert returned_dms(sim, rita) == [] and len(back_in_queue(sim, thread)) == 1
    sim.take_problems()


async def request_id_of(sim: Any) -> int:
    return (await sim.services.portfolio.search(sim.guild.id, ""))[0].id


async def test_a_crash_after_a_review_is_saved_still_posts_it_and_tells_the_owner(
    sim: Any,
) -> None:
    rita, thread = await claimed_request(sim)
    alice = sim.member("alice")
    portfolio = sim.services.portfolio
    request_id = await request_id_of(sim)
    await portfolio.submit_review(
        sim.guild.id, request_id, Actor(rita.id, is_reviewer=True), a_review(portfolio)
    )
    await sim.restart_bot()  # the form's handler died after the commit
    await sim.run_scheduler()
    (posted,) = [m for m in sim.messages(thread) if "Strengths" in embed_text(m)]
    (told,) = [m for m in sim.dms(alice) if "got a review" in m.content]
    review = await sim.services.portfolio.review_of(request_id)  # the new process
    assert review is not None and review.message_id == posted.id  # its Rate button works
    await sim.restart_bot()
    await sim.advance(hours=1)
    assert len([m for m in sim.messages(thread) if "Strengths" in embed_text(m)]) == 1
    assert [m.id for m in sim.dms(alice) if "got a review" in m.content] == [told.id]


async def test_a_crash_after_a_withdrawal_or_transfer_still_tells_the_reviewers(
    sim: Any,
) -> None:
    rita, _ = await claimed_request(sim)
    rex = sim.member("rex", roles=["reviewer"])
    portfolio = sim.services.portfolio
    request_id = await request_id_of(sim)
    moderator = Actor(sim.member("mo", moderator=True).id, is_moderator=True)
    await portfolio.transfer(sim.guild.id, request_id, moderator, rex.id, target_is_reviewer=True)
    owner = Actor(sim.member("alice").id)
    await portfolio.withdraw(sim.guild.id, request_id, owner)
    await sim.restart_bot()
    await sim.run_scheduler()
    assert [m.content for m in sim.dms(rita)] == [
        f"A moderator passed request #{request_id} to another reviewer; you no longer need "
        "to review it."
    ]
    gave, withdrawn = (m.content for m in sim.dms(rex))
    assert gave.startswith(f"A moderator gave you portfolio review request #{request_id}")
    assert withdrawn.startswith(f"Request #{request_id} that you claimed was withdrawn")
    await sim.advance(hours=1)
    assert len(sim.dms(rita)) == 1 and len(sim.dms(rex)) == 2
