"""Buttons keep working after a restart: each is dispatched by its custom_id, not by memory.

Confirmations, paged lists and the review queue were views held in memory: after a restart
a press got "The application did not respond". Each test shows the buttons, restarts the
bot, and presses them.
"""

from __future__ import annotations

from typing import Any

from tests.fakes_ops import FakeNotesSource
from tests.test_forms_e2e import daily_task, enrol
from tests.test_portfolio_e2e import REVIEW, configure, post_of, refreshed, said, submit


async def test_a_confirmation_asked_before_a_restart_is_answered_after_it(sim: Any) -> None:
    alice = sim.member("alice")
    notes = FakeNotesSource()
    notes.add(sim.guild.id, alice.id, "mine")
    asked = await sim.slash(alice, "privacy delete")
    await sim.restart_bot()
    sim.services.fake_notes = notes
    mallory = await sim.click(sim.member("mallory"), asked.message, label="Erase my data")
    assert mallory.ephemeral and "someone else's" in mallory.content
    done = await sim.click(alice, asked.message, label="Erase my data")
    assert "erased 1 record(s)" in done.content and done.components == []
    assert notes.notes == []


async def test_leave_and_withdraw_confirmations_survive_a_restart(sim: Any) -> None:
    alice = sim.member("alice")
    await enrol(sim, alice)
    asked = await sim.slash(alice, "roadmap leave")
    channel = await configure(sim)
    await submit(sim, alice)
    withdraw = await sim.click(alice, post_of(sim, channel), label="Withdraw")
    await sim.restart_bot()
    left = await sim.click(alice, asked.message, label="Leave the roadmap")
    assert "You left the roadmap" in left.content
    gone = await sim.click(alice, withdraw.message, label="Withdraw")
    assert "is withdrawn" in said(gone)


async def test_a_cancelled_confirmation_keeps_everything(sim: Any) -> None:
    alice = sim.member("alice")
    await enrol(sim, alice)
    asked = await sim.slash(alice, "roadmap leave")
    await sim.restart_bot()
    kept = await sim.click(alice, asked.message, label="Cancel")
    assert kept.content == "Nothing changed."
    assert "Month" in (await sim.slash(alice, "roadmap view")).text


async def test_a_paged_list_pages_after_a_restart_for_its_owner_only(sim: Any) -> None:
    mod = sim.member("mo", moderator=True)
    listing = await sim.slash(mod, "challenge bank list", difficulty="easy")
    assert "Page 1 of" in listing.embeds[0]["footer"]["text"]
    await sim.restart_bot()
    turned = await sim.click(mod, listing.message, label="Next")
    assert "Page 2 of" in turned.embeds[0]["footer"]["text"]
    assert "easy" in turned.embeds[0]["title"]  # the filter came through the custom_id
    back = await sim.click(mod, turned.message, label="Previous")
    assert "Page 1 of" in back.embeds[0]["footer"]["text"]
    stranger = await sim.click(sim.member("alice"), turned.message, label="Next")
    assert stranger.ephemeral and "someone else's" in stranger.content


async def test_the_review_queue_pages_and_accepts_after_a_restart(sim: Any) -> None:
    await daily_task(sim)
    mod = sim.member("mo", moderator=True)
    for name in ("alice", "bob"):
        form = await sim.slash(sim.member(name), "challenge submit")
        await sim.submit_modal(sim.member(name), form, {"link": f"https://github.com/{name}/c"})
    queue = await sim.slash(mod, "challenge review")
    await sim.restart_bot()
    second = await sim.click(mod, queue.message, label="Next")
    assert "2 of 2" in second.embeds[0]["footer"]["text"]
    form = await sim.click(mod, second.message, label="Reject")
    rejected = await sim.submit_modal(mod, form, {"comment": "The link is not public."})
    assert "Rejected submission" in said(rejected)


async def test_edit_and_send_again_from_before_a_restart_says_it_stopped_working(
    sim: Any,
) -> None:
    channel = await configure(sim)
    rita = sim.member("rita", roles=["reviewer"])
    await submit(sim, sim.member("alice"))
    post = post_of(sim, channel)
    await sim.click(rita, post, label="Claim")
    form = await sim.click(rita, refreshed(sim, post), label="Submit review")
    refused = await sim.submit_modal(rita, form, dict(REVIEW, scores="5 5 5 5 9"))
    assert f"> {REVIEW['strengths']}" in said(refused)
    await sim.restart_bot()
    again = await sim.click(rita, refused.message, label="Edit and send again")
    assert again.ephemeral and "stopped working when Mentor restarted" in again.content
