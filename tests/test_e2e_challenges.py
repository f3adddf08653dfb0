"""/challenge end to end: the real bot and discord.py against the simulated Discord."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.config import Settings
from bot.services.challenges.model import phase_for_month
from bot.services.guild_settings import ChannelKind
from cogs.challenges._live import LiveCounts


@pytest.fixture
def settings(db_settings: dict[str, Any]) -> Settings:
    # Live counts are edited at once in tests (the coalescing is tested in the service tests).
    return Settings(_env_file=None, **db_settings, challenge_count_edit_seconds=0)


async def configure(sim) -> int:
    channel = sim.guild.channel("challenges")
    await sim.services.guild_settings.set_channel(sim.guild.id, ChannelKind.CHALLENGE, channel)
    return channel


async def only_quizzes(sim) -> None:
    """Disable every task so the daily challenge is a quiz (the rotation may pick a task)."""
    for challenge in sim.services.challenges.bank.shipped:
        if not challenge.is_quiz:
            await sim.services.challenges.bank.disable(sim.guild.id, 1, challenge.id)


async def flush_counts(sim) -> None:
    await sim.bot.shared.get(LiveCounts).flush()


async def post_the_chunker_task(sim):
    """Post today's daily challenge as the one task left enabled; its message."""
    channel = await configure(sim)
    for challenge in sim.services.challenges.bank.shipped:
        if challenge.id != "py-task-chunker":
            await sim.services.challenges.bank.disable(sim.guild.id, 1, challenge.id)
    await sim.run_scheduler()
    (post,) = daily_posts(sim, channel)
    return post


def daily_posts(sim, channel: int):
    return [m for m in sim.messages(channel) if m.embeds and "Daily" in m.embeds[0]["title"]]


def option_labels(message) -> list[str]:
    return [
        c["label"]
        for row in message.components
        for c in row["components"]
        if c["custom_id"].startswith("chal:ans:")
    ]


async def right_and_wrong_labels(sim, message) -> tuple[str, str]:
    post = await sim.services.challenges.daily.latest(sim.guild.id)
    right = post.challenge.correct_option
    labels = option_labels(message)
    right_label = next(label for label in labels if label.endswith(right))
    wrong_label = next(label for label in labels if label != right_label)
    return right_label, wrong_label


async def test_daily_quiz_posted_and_answered_by_two_members(sim) -> None:
    channel = await configure(sim)
    await only_quizzes(sim)
    await sim.run_scheduler()
    (post,) = daily_posts(sim, channel)
    assert post.thread_id is not None and len(sim.threads(channel)) == 1
    right, wrong = await right_and_wrong_labels(sim, post)

    alice, bob = sim.member("alice"), sim.member("bob")
    first = await sim.click(alice, post, label=right)
    assert first.ephemeral and first.content.startswith("Correct, +10 points")
    second = await sim.click(bob, post, label=wrong)
    assert second.ephemeral and "The right answer is **" in second.content
    again = await sim.click(alice, post, label=wrong)
    assert again.ephemeral and "already answered" in again.content

    await flush_counts(sim)
    (post,) = daily_posts(sim, channel)
    answers = next(f for f in post.embeds[0]["fields"] if f["name"] == "Answers")
    assert answers["value"] == "2 answered · 1 correct"

    board = await sim.slash(bob, "challenge leaderboard", period="week")
    assert "<@" + str(alice.id) + "> · 10 points" in board.embeds[0]["description"]
    stats = await sim.slash(alice, "challenge stats")
    assert "1 day" in str(stats.embeds[0]["fields"])


async def test_buttons_work_after_a_restart_and_posting_is_exactly_once(sim) -> None:
    channel = await configure(sim)
    await only_quizzes(sim)
    await sim.run_scheduler()
    await sim.run_scheduler()
    await sim.restart_bot()
    await sim.run_scheduler()
    assert len(daily_posts(sim, channel)) == 1

    (post,) = daily_posts(sim, channel)
    right, _ = await right_and_wrong_labels(sim, post)
    reply = await sim.click(sim.member("carol"), post, label=right)
    assert reply.content.startswith("Correct")
    hint = await sim.click(sim.member("dan"), post, label="Hint")
    assert hint.ephemeral and hint.content.startswith("Hint:") and "5 points" in hint.content
    assert (await sim.click(sim.member("dan"), post, label=right)).content.startswith(
        "Correct, +5 points"
    )

    await sim.advance(hours=23)  # 09:00 the next day
    assert len(daily_posts(sim, channel)) == 2
    await sim.restart_bot()
    await sim.advance(hours=3)
    assert len(daily_posts(sim, channel)) == 2


async def test_today_and_practice(sim) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    nothing = await sim.slash(alice, "challenge today")
    assert nothing.ephemeral and "No challenge is open" in nothing.content
    await sim.run_scheduler()
    today = await sim.slash(alice, "challenge today")
    assert today.ephemeral and today.embeds[0]["title"].startswith("Daily challenge")

    practice = await sim.slash(alice, "challenge practice", topic="rag")
    assert practice.ephemeral and practice.embeds[0]["title"].startswith("Practice")
    label = practice.components[0]["components"][0]["label"]
    graded = await sim.click(alice, practice.message, label=label)
    assert graded.ephemeral and ("Correct!" in graded.content or "Not quite" in graded.content)
    assert await sim.services.db.fetch_value("SELECT count(*) FROM challenge_points") == 0
    assert len(daily_posts(sim, channel)) == 1


async def test_members_cannot_use_moderator_commands(sim) -> None:
    alice = sim.member("alice")
    for command in ("challenge bank list", "challenge weekly create", "challenge review"):
        reply = await sim.slash(alice, command)
        assert reply.ephemeral and "Only moderators" in reply.content, command
    refused = await sim.slash(alice, "challenge bank disable", id="py-dict-order")
    assert "Only moderators" in refused.content
    assert await sim.services.challenges.bank.disabled_ids(sim.guild.id) == set()


async def test_bank_import_reports_the_line_and_list_pages(sim) -> None:
    mod = sim.member("mo", moderator=True)
    bad = b"""[[challenge]]
id = "srv-one"
title = "One"
kind = "quiz"
phase = "ml_core"
topic = "rag"
difficulty = "easy"
prompt = "?"
options = ["a", "b"]
explanation = "e"
hint = "h"
"""
    reply = await sim.slash(mod, "challenge bank import", file=("mine.toml", bad))
    assert reply.ephemeral and "line 1: quiz 'srv-one' has no correct option" in reply.content
    good = bad.replace(b'hint = "h"', b'hint = "h"\ncorrect = 1')
    reply = await sim.slash(mod, "challenge bank import", file=("mine.toml", good))
    assert "Imported 1 challenges: srv-one" in reply.content

    listing = await sim.slash(mod, "challenge bank list", topic="rag")
    assert "`srv-one`" in listing.text and "custom" in listing.text
    full = await sim.slash(mod, "challenge bank list")
    assert "Page 1 of" in full.embeds[0]["footer"]["text"]
    turned = await sim.click(mod, full.message, label="Next")
    assert "Page 2 of" in turned.embeds[0]["footer"]["text"]
    disabled = await sim.slash(mod, "challenge bank disable", id="srv-one")
    assert "Disabled `srv-one`" in disabled.content


async def test_weekly_needs_a_challenge_channel(sim) -> None:
    mod = sim.member("mo", moderator=True)
    reply = await sim.slash(mod, "challenge weekly create")
    assert reply.ephemeral and "No challenge channel is set" in reply.content
    assert reply.modal is None


async def test_weekly_flow_submissions_review_and_results(sim) -> None:
    channel = await configure(sim)
    mod, alice, bob = sim.member("mo", moderator=True), sim.member("alice"), sim.member("bob")
    opened = await sim.slash(mod, "challenge weekly create")
    fields = {"title": "Ship a RAG demo", "brief": "Build it.", "rules": "Solo work."}
    past = await sim.submit_modal(mod, opened, fields | {"deadline": "2026-03-01 18:00"})
    assert past.ephemeral and "in the past" in past.content

    created = await sim.submit_modal(mod, opened, fields | {"deadline": "2026-03-08 18:00"})
    assert "is posted" in created.content
    (post,) = [m for m in sim.messages(channel) if m.embeds[0]["title"].startswith("Weekly")]
    assert post.thread_id is not None

    form = await sim.slash(alice, "challenge submit")
    assert form.modal is not None
    hostile = await sim.submit_modal(alice, form, {"link": "javascript:alert(1)", "notes": "x"})
    assert hostile.ephemeral and "only http:// and https://" in hostile.content
    ok = await sim.submit_modal(alice, form, {"link": "https://github.com/a/rag", "notes": "v1"})
    assert "received" in ok.content
    edit = await sim.slash(alice, "challenge submit", which="weekly")
    assert edit.modal is not None
    edited = await sim.submit_modal(alice, edit, {"link": "https://github.com/a/rag2", "notes": ""})
    assert "updated" in edited.content
    bob_form = await sim.slash(bob, "challenge submit")
    await sim.submit_modal(bob, bob_form, {"link": "https://github.com/b/rag", "notes": ""})

    queue = await sim.slash(mod, "challenge weekly review")
    assert queue.ephemeral and "rag2" in queue.text
    accept = await sim.click(mod, queue.message, label="Accept")
    assert accept.modal is not None
    bad_points = await sim.submit_modal(mod, accept, {"points": "500", "comment": ""})
    assert "from 1 to 100" in bad_points.content
    done = await sim.submit_modal(mod, accept, {"points": "80", "comment": "Nice"})
    assert "Accepted" in done.content and "DM" in done.content
    assert "+80 points" in sim.dms(alice)[-1].content

    sim.close_dms(bob)
    following = await sim.click(mod, queue.message, label="Next")
    accept_bob = await sim.click(mod, following.message, label="Accept")
    told = await sim.submit_modal(mod, accept_bob, {"points": "60", "comment": ""})
    assert "mentioned in the thread" in told.content
    mention = sim.messages(post.thread_id)[-1]
    assert f"<@{bob.id}>" in mention.content and "+60 points" in mention.content
    sim.take_problems()  # the refused DM to bob, on purpose

    await sim.advance(days=6, hours=8)  # Sunday 18:00 UTC has passed
    results = [m for m in sim.messages(channel) if m.embeds[0]["title"].startswith("Results")]
    assert len(results) == 1
    podium = str(results[0].embeds[0]["fields"])
    assert podium.index(f"<@{alice.id}>") < podium.index(f"<@{bob.id}>")
    await sim.restart_bot()
    await sim.advance(hours=1)
    assert (
        len([m for m in sim.messages(channel) if m.embeds[0]["title"].startswith("Results")]) == 1
    )

    late = await sim.slash(alice, "challenge submit", which="weekly")
    assert late.ephemeral and "No weekly challenge is taking submissions" in late.content

    override = await sim.slash(
        mod, "challenge weekly override", submission=1, points=90, reason="Recount"
    )
    assert "80 -> 90 points (logged)" in override.content
    log = await sim.slash(mod, "challenge weekly overrides")
    assert "Recount" in log.content


async def test_daily_task_reviewed_by_a_moderator(sim) -> None:
    post = await post_the_chunker_task(sim)
    assert option_labels(post) == []
    alice, mod = sim.member("alice"), sim.member("mo", moderator=True)
    form = await sim.slash(alice, "challenge submit", which="daily")
    await sim.submit_modal(alice, form, {"link": "https://gist.github.com/a/1", "notes": "done"})
    queue = await sim.slash(mod, "challenge review")
    reject = await sim.click(mod, queue.message, label="Reject")
    empty = await sim.submit_modal(mod, reject, {"comment": "   "})
    assert "Say briefly why" in empty.content
    rejected = await sim.submit_modal(mod, reject, {"comment": "Tests are missing"})
    assert "Rejected" in rejected.content
    assert "Tests are missing" in sim.dms(alice)[-1].content
    twice = await sim.click(mod, queue.message, label="Accept")
    assert twice.ephemeral and "already rejected" in twice.content


async def test_month_end_top_members_posted_once(sim) -> None:
    channel = await configure(sim)
    await only_quizzes(sim)
    await sim.run_scheduler()
    (post,) = daily_posts(sim, channel)
    right, _ = await right_and_wrong_labels(sim, post)
    await sim.click(sim.member("alice"), post, label=right)
    sim.clock.set(sim.clock.now().replace(day=31, hour=23, minute=30))
    await sim.run_scheduler()
    await sim.advance(hours=1)  # April 1st, 00:30 UTC
    await sim.restart_bot()
    await sim.advance(minutes=5)
    tops = [m for m in sim.messages(channel) if m.embeds[0]["title"].startswith("Top members")]
    assert len(tops) == 1 and tops[0].embeds[0]["title"] == "Top members of March 2026"


async def test_concurrent_double_click_counts_once(sim) -> None:
    channel = await configure(sim)
    await only_quizzes(sim)
    await sim.run_scheduler()
    (post,) = daily_posts(sim, channel)
    right, _ = await right_and_wrong_labels(sim, post)
    alice = sim.member("alice")
    replies = await asyncio.gather(*(sim.click(alice, post, label=right) for _ in range(3)))
    assert sorted(r.content.startswith("Correct") for r in replies) == [False, False, True]
    assert await sim.services.db.fetch_value("SELECT SUM(points) FROM challenge_points") == 10
    await flush_counts(sim)
    (post,) = daily_posts(sim, channel)
    assert "1 answered · 1 correct" in str(post.embeds[0]["fields"])


async def test_bank_add_modal_and_hostile_moderator_input(sim) -> None:
    await configure(sim)
    mod = sim.member("mo", moderator=True)
    form = await sim.slash(
        mod, "challenge bank add", id="my-quiz", kind="quiz", phase="production",
        topic="agents", difficulty="medium",
    )  # fmt: skip
    assert form.modal is not None
    fields = {"title": "Loops", "prompt": "What stops a runaway agent?", "hint": "Budgets."}
    fields["explanation"] = "A cap on steps bounds the damage."
    unmarked = await sim.submit_modal(mod, form, fields | {"options": "A step cap\nMore tools"})
    assert unmarked.ephemeral and "has no correct option" in unmarked.content
    added = await sim.submit_modal(mod, form, fields | {"options": "*A step cap\nMore tools"})
    assert "Added `my-quiz`" in added.content
    clash = await sim.slash(
        mod, "challenge bank add", id="py-dict-order", kind="task", phase="foundations",
        topic="python", difficulty="easy",
    )  # fmt: skip
    taken = await sim.submit_modal(mod, clash, {"title": "t", "prompt": "p", "hint": "h"})
    assert "already in the bank" in taken.content

    extend = await sim.slash(mod, "challenge weekly extend", deadline="'); DROP TABLE x;--")
    assert extend.ephemeral and "No weekly challenge is running" in extend.content
    missing = await sim.slash(
        mod, "challenge weekly override", submission=424242, points=5, reason="x" * 300
    )
    assert missing.ephemeral and "No accepted weekly submission" in missing.content
    assert await sim.services.db.fetch_value("SELECT count(*) FROM weekly_score_overrides") == 0


async def test_the_thread_fallback_pings_only_the_member(sim) -> None:
    post = await post_the_chunker_task(sim)
    alice, mod = sim.member("alice"), sim.member("mo", moderator=True)
    form = await sim.slash(alice, "challenge submit", which="daily")
    await sim.submit_modal(alice, form, {"link": "https://gist.github.com/a/1", "notes": "done"})
    sim.close_dms(alice)
    queue = await sim.slash(mod, "challenge review")
    reject = await sim.click(mod, queue.message, label="Reject")
    role = sim.guild.role("reviewer")
    hostile = f"@everyone @here <@&{role}> tests are missing"
    told = await sim.submit_modal(mod, reject, {"comment": hostile})
    assert "mentioned in the thread" in told.content
    mention = sim.messages(post.thread_id)[-1]
    assert "tests are missing" in mention.content
    assert mention.pinged_user_ids == {alice.id}
    assert not mention.pinged_everyone and not mention.pinged_role_ids
    sim.take_problems()  # the refused DM, on purpose


async def test_a_persistent_button_is_refused_once_shutdown_began(sim) -> None:
    channel = await configure(sim)
    await only_quizzes(sim)
    await sim.run_scheduler()
    (post,) = daily_posts(sim, channel)
    right, _ = await right_and_wrong_labels(sim, post)
    sim.bot.accepting_interactions = False
    refused = await sim.click(sim.member("alice"), post, label=right)
    assert refused.ephemeral and "restarting" in refused.content
    answers = await sim.services.db.fetch_value("SELECT count(*) FROM daily_answers")
    assert answers == 0


async def test_practice_follows_the_members_roadmap_phase(sim) -> None:
    alice = sim.member("alice")
    # Eight months before the simulator's 2026-03-02: month 9 of the plan, phase 3.
    started = await sim.slash(alice, "roadmap start", track="ai_engineer", start_date="2025-06-15")
    assert started.ephemeral and "month 9 of 12" in started.content
    for _ in range(5):
        practice = await sim.slash(alice, "challenge practice")
        custom_id = practice.components[0]["components"][0]["custom_id"]
        challenge_id = custom_id.split(":")[2]
        challenge = await sim.services.challenges.bank.get(sim.guild.id, challenge_id)
        assert challenge.phase == "deep_learning_llms"


def test_phase_for_month_follows_the_three_month_phases() -> None:
    assert [phase_for_month(m).value for m in (1, 3, 4, 6, 7, 9, 10, 12, 15)] == [
        "foundations",
        "foundations",
        "ml_core",
        "ml_core",
        "deep_learning_llms",
        "deep_learning_llms",
        "production",
        "production",
        "production",
    ]
