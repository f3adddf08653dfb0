"""Portfolio reviews end to end: the real bot, real discord.py, a simulated Discord.

Members press the same buttons and fill the same forms they would in Discord; the tests
read back what they saw (ephemeral answers, posts, threads, DMs) and what was stored.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.services.guild_settings import ChannelKind, RoleKind
from bot.services.portfolio.drafts import request_draft
from bot.services.portfolio.models import Actor, Status

REPO = "https://github.com/alice/handbook-qa"
FORM = {
    "title": "Handbook Q&A",
    "repo_url": REPO,
    "demo_url": "https://youtu.be/demo123",
    "description": "Answers questions about the team handbook and cites the pages it used.",
    "feedback_wanted": "Is my retrieval evaluation convincing?",
}
REVIEW = {
    "scores": "4 3 5 2 4",
    "strengths": "A clear problem and a tidy, well-tested retrieval module.",
    "improvements": "Deploy it somewhere public and add an evaluation set to the README.",
}


def spy_mentions(sim: Any) -> list[tuple[str, dict]]:
    """Record the allowed_mentions of every message the bot posts from now on.

    The simulator keeps what a message says, not whom it may ping, so the test listens at
    discord.py's own HTTP client, on the payload Discord would receive.
    """
    sent: list[tuple[str, dict]] = []
    original = sim.bot.http.request

    async def request(route: Any, **kwargs: Any) -> Any:
        payload = kwargs.get("json")
        if route.method == "POST" and isinstance(payload, dict):
            message = payload.get("message", payload)  # forum posts nest the message
            if "allowed_mentions" in message:
                sent.append((route.path, message["allowed_mentions"]))
        return await original(route, **kwargs)

    sim.bot.http.request = request
    return sent


def said(reply: Any) -> str:
    """Everything the member saw in answer: the response and its follow-ups."""
    parts = [reply.text]
    for message in reply.followups:
        parts.append(message.content or "")
        for embed in message.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            parts += [f.get("value") or "" for f in embed.get("fields") or []]
    return "\n".join(parts)


def last_message(reply: Any) -> Any:
    """The message the member sees last: the latest follow-up, else the response."""
    return reply.followups[-1] if reply.followups else reply.message


def embed_text(message: Any) -> str:
    parts = []
    for embed in message.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        for item in embed.get("fields") or []:
            parts += [item.get("name") or "", item.get("value") or ""]
    return "\n".join(parts)


def buttons(message: Any) -> list[str]:
    return [
        c.get("label")
        for row in message.components
        for c in row.get("components", [])
        if c.get("type") == 2
    ]


def custom_ids(message: Any) -> list[str]:
    return [
        c.get("custom_id")
        for row in message.components
        for c in row.get("components", [])
        if c.get("type") == 2
    ]


async def configure(sim: Any, *, forum: bool = False) -> int:
    channel = sim.guild.channel("forum-reviews" if forum else "reviews")
    await sim.services.guild_settings.set_channel(sim.guild.id, ChannelKind.REVIEW, channel)
    await sim.services.guild_settings.set_role(
        sim.guild.id, RoleKind.REVIEWER, sim.guild.role("reviewer")
    )
    return channel


async def submit(
    sim: Any,
    member: Any,
    *,
    archetype: str = "rag_app",
    button: str = "Everything is ready",
    **changes: str,
) -> Any:
    checklist = await sim.slash(member, "portfolio submit", archetype=archetype)
    assert checklist.ephemeral, checklist.text
    form = await sim.click(member, checklist.message, label=button)
    assert form.modal is not None, said(form)
    return await sim.submit_modal(member, form, {**FORM, **changes})


def post_of(sim: Any, channel: int, index: int = -1) -> Any:
    """The request's post: a message in the text channel, or a forum post's first message."""
    if channel == sim.guild.channel("forum-reviews"):
        thread = sim.threads(channel)[index]
        return sim.messages(int(thread["id"]))[0]
    return [m for m in sim.messages(channel) if m.embeds][index]


def refreshed(sim: Any, message: Any) -> Any:
    return next(m for m in sim.messages(message.channel_id) if m.id == message.id)


async def review(sim: Any, reviewer: Any, post: Any, **changes: str) -> Any:
    form = await sim.click(reviewer, post, label="Submit review")
    assert form.modal is not None, said(form)
    return await sim.submit_modal(reviewer, form, {**REVIEW, **changes})


# --- The whole flow -------------------------------------------------------------------


@pytest.mark.parametrize("forum", [False, True], ids=["text-channel", "forum"])
async def test_submit_claim_review_rate_resubmit(sim: Any, forum: bool) -> None:
    channel = await configure(sim, forum=forum)
    alice = sim.member("alice")
    rita = sim.member("rita", roles=["reviewer"])

    checklist = await sim.slash(alice, "portfolio submit", archetype="rag_app")
    assert checklist.ephemeral
    assert "README" in checklist.text and "RAG application" in checklist.text
    assert buttons(checklist.message) == ["Everything is ready", "Submit anyway"]
    form = await sim.click(alice, checklist.message, label="Everything is ready")
    assert form.modal["title"] == "Ask for a portfolio review"
    done = await sim.submit_modal(alice, form, FORM)
    assert "is posted" in said(done) and "number 1 in the queue" in said(done)

    post = post_of(sim, channel)
    assert post.embeds[0]["title"] == "Handbook Q&A"
    assert "Open: waiting for a reviewer" in embed_text(post)
    assert buttons(post) == ["Claim", "Withdraw"]
    request_id = int(custom_ids(post)[0].rsplit(":", 1)[1])
    assert custom_ids(post) == [f"portfolio:claim:{request_id}", f"portfolio:withdraw:{request_id}"]
    threads = sim.threads(channel)
    assert [t["name"] for t in threads] == [f"#{request_id} Handbook Q&A"]
    thread_id = int(threads[0]["id"])

    sim.clock.advance(hours=6)
    claimed = await sim.click(rita, post, label="Claim")
    assert f"You claimed request #{request_id}" in said(claimed)
    post = refreshed(sim, post)
    assert f"Claimed by <@{rita.id}>" in embed_text(post)
    assert buttons(post) == ["Submit review", "Unclaim", "Withdraw"]

    reviewed = await review(sim, rita, post)
    assert "review of" in said(reviewed) and "owner got a DM" in said(reviewed)
    in_thread = [m for m in sim.messages(thread_id) if m.id != post.id]
    assert len(in_thread) == 1
    assert "Problem and framing**: 4/5" in embed_text(in_thread[0])
    assert "Deploy it somewhere public" in embed_text(in_thread[0])
    assert buttons(in_thread[0]) == ["Rate the review"]
    assert "got a review" in sim.dms(alice)[-1].content
    post = refreshed(sim, post)
    assert f"Reviewed by <@{rita.id}>" in embed_text(post)
    assert buttons(post) == ["Rate the review"]

    rating_form = await sim.click(alice, post, label="Rate the review")
    rated = await sim.submit_modal(alice, rating_form, {"helpful": "4", "comment": "Concrete!"})
    assert "you rated the review 4/5" in said(rated)
    assert buttons(refreshed(sim, post)) == []
    assert "Helpful: 4/5" in embed_text(refreshed(sim, post))
    review_message = refreshed(sim, in_thread[0])
    assert buttons(review_message) == [] and "Concrete!" in embed_text(review_message)
    assert "rated your review 4/5" in sim.dms(rita)[-1].content

    checklist = await sim.slash(alice, "portfolio resubmit", request=request_id)
    assert f"Next round of #{request_id}" in checklist.text
    form = await sim.click(alice, checklist.message, label="Submit anyway")
    defaults = {
        c["component"]["custom_id"]: c["component"].get("value") for c in form.modal["components"]
    }
    assert defaults["repo_url"] == REPO and defaults["description"] == FORM["description"]
    again = await sim.submit_modal(
        alice,
        form,
        {
            "demo_url": "https://handbook-qa.fly.dev",
            "change_note": "Deployed on Fly.io and added a 50-question evaluation set.",
            "feedback_wanted": "Is the deployment solid?",
        },
    )
    assert "is posted" in said(again)
    second = post_of(sim, channel)
    text = embed_text(second)
    assert second.embeds[0]["title"] == "Handbook Q&A (round 2)"
    assert "What changed since round 1" in text and "Deployed on Fly.io" in text
    assert f"Round 1 (#{request_id}): reviewed by <@{rita.id}>" in text
    assert "Deployment: 2" in text and "Average: 3.6" in text
    assert "Submitted anyway" in text

    rex = sim.member("rex", roles=["reviewer"])
    sim.clock.advance(hours=10)
    await sim.click(rex, second, label="Claim")
    await review(sim, rex, refreshed(sim, second), scores="5 4 5 4 5")
    assert "Deployment: 2 → 4" in embed_text(refreshed(sim, second))
    mine = await sim.slash(alice, "portfolio mine")
    assert "(round 2)" in mine.text and mine.text.count("Reviewed") >= 2
    stats = await sim.slash(alice, "portfolio stats")
    assert "2 in all (2 reviewed)" in stats.text
    assert "Median time to a review\n8 h" in stats.text  # rounds waited 6 h and 10 h
    assert f"<@{rita.id}>: 1 review, helpful 4.0/5 from 1 rating" in stats.text
    assert f"<@{rex.id}>: 1 review, not rated yet" in stats.text


async def test_buttons_work_after_a_restart(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    rita = sim.member("rita", roles=["reviewer"])
    await submit(sim, alice)
    post = post_of(sim, channel)

    await sim.restart_bot()
    claimed = await sim.click(rita, post, label="Claim")
    assert "You claimed" in said(claimed)
    post = refreshed(sim, post)
    assert buttons(post) == ["Submit review", "Unclaim", "Withdraw"]

    await sim.restart_bot()
    done = await review(sim, rita, post)
    assert "is saved" in said(done)
    assert "Reviewed by" in embed_text(refreshed(sim, post))


async def test_a_stale_post_is_brought_up_to_date_after_a_failed_edit(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    await submit(sim, alice)
    post = post_of(sim, channel)
    request_id = int(custom_ids(post)[0].rsplit(":", 1)[1])
    # The owner withdraws with the command while Discord fails the edit of the post.
    sim.fail_next("PATCH", "/channels/{channel_id}/messages/{message_id}", status=503)
    confirm = await sim.slash(alice, "portfolio withdraw", request=request_id)
    await sim.click(alice, confirm.message, label="Withdraw")
    assert "Withdraw" in buttons(refreshed(sim, post))
    await sim.restart_bot()
    await sim.run_scheduler()
    post = refreshed(sim, post)
    assert buttons(post) == [] and "Withdrawn by its owner" in embed_text(post)


# --- Races ----------------------------------------------------------------------------


async def test_two_reviewers_clicking_claim_together(sim: Any) -> None:
    channel = await configure(sim)
    await submit(sim, sim.member("alice"))
    post = post_of(sim, channel)
    rita = sim.member("rita", roles=["reviewer"])
    rex = sim.member("rex", roles=["reviewer"])
    answers = await asyncio.gather(
        sim.click(rita, post, label="Claim"), sim.click(rex, post, label="Claim")
    )
    texts = sorted(said(a) for a in answers)
    assert sum("You claimed" in t for t in texts) == 1
    assert sum("just before you" in t for t in texts) == 1
    request = (await sim.services.portfolio.search(sim.guild.id, ""))[0]
    assert request.status is Status.CLAIMED and request.reviewer_id in (rita.id, rex.id)


# --- Bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("repo_url", "javascript:alert(document.cookie)", "only http:// and https://"),
        ("repo_url", "data:text/html;base64,PHNjcmlwdD4=", "only http:// and https://"),
        ("repo_url", "ftp://files.example.org/project", "only http:// and https://"),
        ("repo_url", "http://localhost:8000", "needs a dot"),
        ("demo_url", "https://admin:hunter2@demo.example.org", "user name or password"),
        ("demo_url", "http://10.0.0.5/demo", "private or local"),
    ],
)
async def test_bad_links_are_refused_and_the_form_can_be_fixed(
    sim: Any, field: str, value: str, reason: str
) -> None:
    await configure(sim)
    alice = sim.member("alice")
    refused = await submit(sim, alice, **{field: value})
    assert reason in said(refused)
    assert await sim.services.portfolio.search(sim.guild.id, "") == []
    reopened = await sim.click(alice, last_message(refused), label="Edit and send again")
    values = {
        c["component"]["custom_id"]: c["component"].get("value")
        for c in reopened.modal["components"]
    }
    assert values[field] == value and values["title"] == FORM["title"]
    fixed = await sim.submit_modal(alice, reopened, {field: "https://github.com/alice/fixed"})
    assert "is posted" in said(fixed)


async def test_the_form_caps_the_description_and_the_service_refuses_3000_characters(
    sim: Any,
) -> None:
    await configure(sim)
    alice = sim.member("alice")
    checklist = await sim.slash(alice, "portfolio submit", archetype="other")
    form = await sim.click(alice, checklist.message, label="Submit anyway")
    limits = {
        c["component"]["custom_id"]: c["component"].get("max_length")
        for c in form.modal["components"]
    }
    assert limits["description"] == 1000 and limits["title"] == 100
    with pytest.raises(Exception, match="takes 20-1000 chars"):
        await sim.submit_modal(alice, form, {**FORM, "description": "x" * 3000})


async def test_mention_spam_is_shown_but_never_pings(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    rita = sim.member("rita", roles=["reviewer"])
    sent = spy_mentions(sim)
    spam = f"@everyone @here <@&{sim.guild.role('reviewer')}> <@{rita.id}> ping"
    done = await submit(
        sim,
        alice,
        title=spam,
        description=f"{spam} {spam} and a real description",
        feedback_wanted=spam,
    )
    assert "is posted" in said(done)
    post = post_of(sim, channel)
    assert spam in embed_text(post) and post.embeds[0]["title"] == spam
    await sim.click(rita, post, label="Claim")
    await review(sim, rita, refreshed(sim, post), strengths=f"{spam} but solid work overall")
    thread = int(sim.threads(channel)[0]["id"])
    for message in [*sim.messages(channel), *sim.messages(thread)]:
        assert "@everyone" not in message.content and "@here" not in message.content
    assert len(sent) >= 2  # the post and the review in its thread
    assert all(mentions == {"parse": []} for _, mentions in sent), sent


async def test_claiming_ones_own_project_is_refused(sim: Any) -> None:
    channel = await configure(sim)
    rita = sim.member("rita", roles=["reviewer"])
    await submit(sim, rita)
    answer = await sim.click(rita, post_of(sim, channel), label="Claim")
    assert answer.ephemeral and "can't claim your own project" in said(answer)
    assert buttons(refreshed(sim, post_of(sim, channel))) == ["Claim", "Withdraw"]


async def test_plain_members_cannot_claim_or_see_the_queue(sim: Any) -> None:
    channel = await configure(sim)
    await submit(sim, sim.member("alice"))
    bob = sim.member("bob")
    answer = await sim.click(bob, post_of(sim, channel), label="Claim")
    assert "Only reviewers and moderators" in said(answer)
    queue = await sim.slash(bob, "portfolio queue")
    assert queue.ephemeral and "Only reviewers and moderators" in queue.text


async def test_reviewing_a_withdrawn_request_is_refused_and_nothing_is_stored(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    rita = sim.member("rita", roles=["reviewer"])
    await submit(sim, alice)
    post = post_of(sim, channel)
    await sim.click(rita, post, label="Claim")
    form = await sim.click(rita, refreshed(sim, post), label="Submit review")
    confirm = await sim.click(alice, refreshed(sim, post), label="Withdraw")
    assert "Withdraw request" in said(confirm)
    withdrawn = await sim.click(alice, confirm.message, label="Withdraw")
    assert "is withdrawn" in said(withdrawn)
    answer = await sim.submit_modal(rita, form, REVIEW)
    assert "withdrawn by its owner" in said(answer)
    request = (await sim.services.portfolio.search(sim.guild.id, ""))[0]
    assert request.status is Status.WITHDRAWN
    assert await sim.services.portfolio.review_of(request.id) is None
    post = refreshed(sim, post)
    assert buttons(post) == [] and "Withdrawn" in embed_text(post)
    assert "no review is needed" in sim.dms(rita)[-1].content


async def test_bad_scores_keep_the_review_text(sim: Any) -> None:
    channel = await configure(sim)
    rita = sim.member("rita", roles=["reviewer"])
    await submit(sim, sim.member("alice"))
    post = post_of(sim, channel)
    await sim.click(rita, post, label="Claim")
    refused = await review(sim, rita, refreshed(sim, post), scores="5 5 5 5 9")
    assert "five whole numbers from 1 to 5" in said(refused)
    reopened = await sim.click(rita, last_message(refused), label="Edit and send again")
    values = {
        c["component"]["custom_id"]: c["component"].get("value")
        for c in reopened.modal["components"]
    }
    assert values["strengths"] == REVIEW["strengths"]
    done = await sim.submit_modal(rita, reopened, {"scores": "5 5 5 5 4"})
    assert "is saved" in said(done)


async def test_no_or_deleted_review_channel_gets_a_clear_answer(sim: Any) -> None:
    alice = sim.member("alice")
    answer = await sim.slash(alice, "portfolio submit", archetype="edge_cv")
    assert answer.ephemeral and "No review channel is set" in answer.text
    await sim.services.guild_settings.set_channel(sim.guild.id, ChannelKind.REVIEW, 424242)
    answer = await sim.slash(alice, "portfolio submit", archetype="edge_cv")
    assert "no longer exists" in answer.text
    sim.take_problems()  # the 404 for the missing channel is the point


async def test_a_channel_deleted_while_filling_the_form_saves_nothing(sim: Any) -> None:
    await configure(sim)
    alice = sim.member("alice")
    checklist = await sim.slash(alice, "portfolio submit", archetype="rag_app")
    form = await sim.click(alice, checklist.message, label="Everything is ready")
    await sim.services.guild_settings.set_channel(sim.guild.id, ChannelKind.REVIEW, 424242)
    answer = await sim.submit_modal(alice, form, FORM)
    assert "no longer exists" in said(answer)
    assert buttons(last_message(answer)) == ["Edit and send again"]
    assert await sim.services.portfolio.search(sim.guild.id, "") == []
    sim.take_problems()


async def test_a_deleted_thread_still_delivers_the_review(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    rita = sim.member("rita", roles=["reviewer"])
    await submit(sim, alice)
    post = post_of(sim, channel)
    await sim.click(rita, post, label="Claim")
    thread_id = int(sim.threads(channel)[0]["id"])
    del sim.server.state.channels[thread_id]  # a moderator deleted the thread
    sim.close_dms(alice)
    done = await review(sim, rita, refreshed(sim, post))
    assert "is saved" in said(done)
    replies = [m for m in sim.messages(channel) if m.id != post.id]
    assert any("Strengths" in embed_text(m) for m in replies)
    assert any(f"<@{alice.id}>" in m.content for m in replies)
    request = (await sim.services.portfolio.search(sim.guild.id, ""))[0]
    assert request.status is Status.REVIEWED and request.thread_id is None
    sim.take_problems()


async def test_closed_dms_fall_back_to_a_mention_in_the_thread(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    rita = sim.member("rita", roles=["reviewer"])
    sim.close_dms(alice)
    await submit(sim, alice)
    post = post_of(sim, channel)
    await sim.click(rita, post, label="Claim")
    sent = spy_mentions(sim)
    done = await review(sim, rita, refreshed(sim, post))
    assert "mentioned there" in said(done)
    pings = [m for _, m in sent if m != {"parse": []}]
    assert pings == [{"parse": [], "users": [alice.id]}]
    thread = int(sim.threads(channel)[0]["id"])
    assert any(
        m.content.startswith(f"<@{alice.id}> your review is in") for m in sim.messages(thread)
    )
    sim.take_problems()


async def test_open_request_limit_is_checked_before_the_form(sim: Any) -> None:
    await configure(sim)
    alice = sim.member("alice")
    await submit(sim, alice, title="First")
    await submit(sim, alice, title="Second")
    answer = await sim.slash(alice, "portfolio submit", archetype="rag_app")
    assert answer.ephemeral and "limit is 2" in answer.text and answer.components == []


async def test_resubmitting_an_open_request_or_someone_elses_is_refused(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    await submit(sim, alice)
    request_id = int(custom_ids(post_of(sim, channel))[0].rsplit(":", 1)[1])
    mine = await sim.slash(alice, "portfolio resubmit", request=request_id)
    assert "Only a reviewed request" in mine.text
    other = await sim.slash(sim.member("bob"), "portfolio resubmit", request=request_id)
    assert "Only the owner" in other.text
    missing = await sim.slash(alice, "portfolio resubmit", request=999999)
    assert "There is no portfolio review request #999999" in missing.text


# --- Queue, transfer ---------------------------------------------------------------------


async def test_queue_shows_why_and_pages_and_filters(sim: Any) -> None:
    channel = await configure(sim)
    rita = sim.member("rita", roles=["reviewer"])
    for n in range(6):
        await submit(sim, sim.member(f"m{n}"), archetype="edge_cv" if n == 5 else "rag_app")
        sim.clock.advance(hours=1)
    # m0's project is reviewed by giver, who then asks for a review of their own.
    giver = sim.member("giver", roles=["reviewer"])
    first = post_of(sim, channel, 0)
    await sim.click(giver, first, label="Claim")
    await review(sim, giver, refreshed(sim, first))
    await submit(sim, giver, title="Giver's agent", archetype="agent_with_apis")

    queue = await sim.slash(rita, "portfolio queue")
    entries = queue.embeds[0]["description"].split("\n\n")
    assert entries[0].startswith("**1. #7 Giver's agent**")
    assert "moved up 24 h: reviewed 1 project for others in the 30 days" in entries[0]
    assert [e.split("**")[1].split(" ")[1] for e in entries[1:]] == ["#2", "#3", "#4", "#5"]
    assert all("Why here: in order of arrival" in e for e in entries[1:])
    assert "Page 1 of 2" in queue.text and "6 open" in queue.text
    page2 = await sim.click(rita, queue.message, label="Next")
    assert "Page 2 of 2" in page2.text and "**6. " in page2.text
    edge = await sim.slash(rita, "portfolio queue", archetype="edge_cv")
    assert "Edge computer vision" in edge.text and edge.text.count("**1. ") == 1
    assert "**2. " not in edge.text


async def test_moderator_transfers_a_claimed_request(sim: Any) -> None:
    channel = await configure(sim)
    rita = sim.member("rita", roles=["reviewer"])
    rex = sim.member("rex", roles=["reviewer"])
    mo = sim.member("mo", moderator=True)
    await submit(sim, sim.member("alice"))
    post = post_of(sim, channel)
    request_id = int(custom_ids(post)[0].rsplit(":", 1)[1])
    await sim.click(rita, post, label="Claim")

    denied = await sim.slash(rita, "portfolio transfer", request=request_id, reviewer=rex)
    assert "Only moderators" in denied.text
    not_reviewer = await sim.slash(
        mo, "portfolio transfer", request=request_id, reviewer=sim.member("bob")
    )
    assert "isn't a reviewer" in not_reviewer.text
    moved = await sim.slash(mo, "portfolio transfer", request=request_id, reviewer=rex)
    assert f"now belongs to <@{rex.id}>" in said(moved)
    assert f"Claimed by <@{rex.id}>" in embed_text(refreshed(sim, post))
    assert "gave you portfolio review request" in sim.dms(rex)[-1].content
    assert "passed request" in sim.dms(rita)[-1].content
    refused = await sim.click(rita, refreshed(sim, post), label="Submit review")
    assert "claimed by another reviewer" in said(refused)
    choices = await sim.autocomplete(mo, "portfolio transfer", focused="request", request="hand")
    assert [c["value"] for c in choices] == [request_id]


# --- Scheduled nudges -----------------------------------------------------------------------


def nudges(sim: Any, channel: int) -> list[Any]:
    return [m for m in sim.messages(channel) if "without a reviewer" in m.content]


async def test_unclaimed_requests_are_raised_once_a_day_at_most(sim: Any) -> None:
    channel = await configure(sim)
    role = sim.guild.role("reviewer")
    await submit(sim, sim.member("alice"), title="First")
    sent = spy_mentions(sim)
    await sim.advance(hours=47)
    assert nudges(sim, channel) == []
    await submit(sim, sim.member("bob"), title="Second")
    await sim.advance(hours=1, minutes=1)
    raised = nudges(sim, channel)
    assert len(raised) == 1 and raised[0].content.startswith(f"<@&{role}> 1 review request")
    assert "First" in embed_text(raised[0]) and "Second" not in embed_text(raised[0])
    pings = [m for _, m in sent if m != {"parse": []}]
    assert pings == [{"parse": [], "roles": [role]}]  # only the nudge, only the role
    await sim.advance(minutes=30)
    await sim.restart_bot()
    await sim.run_scheduler()
    assert len(nudges(sim, channel)) == 1
    # "Second" is due later the same day, but the server already had its nudge today.
    await sim.advance(hours=47)
    assert len(nudges(sim, channel)) == 2
    assert "Second" in embed_text(nudges(sim, channel)[-1])
    assert "First" not in embed_text(nudges(sim, channel)[-1])
    await sim.advance(days=1)
    assert len(nudges(sim, channel)) == 2


async def test_reviewer_is_reminded_once_then_the_claim_returns(sim: Any) -> None:
    channel = await configure(sim)
    rita = sim.member("rita", roles=["reviewer"])
    await submit(sim, sim.member("alice"))
    post = post_of(sim, channel)
    await sim.click(rita, post, label="Claim")
    await sim.advance(hours=71)
    assert sim.dms(rita) == []
    await sim.advance(hours=2)
    assert len(sim.dms(rita)) == 1 and "Reminder" in sim.dms(rita)[0].content
    await sim.advance(hours=24)
    await sim.run_scheduler()
    assert len(sim.dms(rita)) == 1
    await sim.advance(days=4)
    post = refreshed(sim, post)
    assert "Open: waiting for a reviewer (back in the queue" in embed_text(post)
    assert buttons(post) == ["Claim", "Withdraw"]
    assert "went back to the queue" in sim.dms(rita)[-1].content
    thread = int(sim.threads(channel)[0]["id"])
    assert any("back in the queue" in m.content for m in sim.messages(thread))


async def test_closed_dms_remind_in_the_thread(sim: Any) -> None:
    channel = await configure(sim)
    rita = sim.member("rita", roles=["reviewer"])
    sim.close_dms(rita)
    await submit(sim, sim.member("alice"))
    await sim.click(rita, post_of(sim, channel), label="Claim")
    await sim.advance(hours=73)
    thread = int(sim.threads(channel)[0]["id"])
    reminders = [m for m in sim.messages(thread) if "reminder" in m.content]
    assert len(reminders) == 1 and reminders[0].content.startswith(f"<@{rita.id}>")
    await sim.advance(hours=1)
    assert len([m for m in sim.messages(thread) if "reminder" in m.content]) == 1
    sim.take_problems()


async def test_a_reminder_in_the_thread_goes_when_the_owner_erases_their_data(sim: Any) -> None:
    """It quotes the owner's title: erasure deletes it like the request's own post (#12)."""
    channel = await configure(sim)
    rita, alice = sim.member("rita", roles=["reviewer"]), sim.member("alice")
    sim.close_dms(rita)
    await submit(sim, alice, title="Alice's secret startup idea")
    await sim.click(rita, post_of(sim, channel), label="Claim")
    await sim.advance(hours=73)
    thread = int(sim.threads(channel)[0]["id"])
    (reminder,) = [m for m in sim.messages(thread) if "reminder" in m.content]
    assert "secret startup" in reminder.content
    asked = await sim.slash(alice, "privacy delete")
    await sim.click(alice, asked.message, label="Erase my data")
    await sim.run_scheduler()
    assert reminder.id not in [m.id for m in sim.messages(thread)]
    assert not [m for m in sim.messages(thread) if "secret startup" in m.content]
    sim.take_problems()


async def test_unclaimed_request_expires(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    await submit(sim, alice)
    await sim.advance(days=30, minutes=1)
    post = post_of(sim, channel)
    assert "Expired" in embed_text(post) and buttons(post) == []
    assert "expired" in sim.dms(alice)[-1].content
    thread = sim.threads(channel)[0]
    assert thread["thread_metadata"]["archived"] is True


# --- Options: wrong, empty, huge and hostile ---------------------------------------------


@pytest.mark.parametrize("command", ["view", "withdraw", "resubmit"])
async def test_unknown_request_numbers_are_refused(sim: Any, command: str) -> None:
    await configure(sim)
    answer = await sim.slash(sim.member("alice"), f"portfolio {command}", request=987654321)
    assert answer.ephemeral
    assert "There is no portfolio review request #987654321 in this server" in answer.text


async def test_someone_elses_request_cannot_be_withdrawn(sim: Any) -> None:
    channel = await configure(sim)
    await submit(sim, sim.member("alice"))
    request_id = int(custom_ids(post_of(sim, channel))[0].rsplit(":", 1)[1])
    answer = await sim.slash(sim.member("bob"), "portfolio withdraw", request=request_id)
    assert "Only the member who asked" in answer.text and answer.components == []
    answer = await sim.click(sim.member("bob"), post_of(sim, channel), label="Withdraw")
    assert "Only the member who asked" in said(answer)


async def test_blank_and_hostile_text_in_the_form(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    blank = await submit(sim, alice, title="   ", feedback_wanted="\u200b\u200b\u200b")
    assert "Title: this can't be empty" in said(blank)
    hostile = "'; DROP TABLE portfolio_requests; -- <script>alert(1)</script>"
    done = await submit(sim, alice, title=hostile[:100], description=hostile * 3)
    assert "is posted" in said(done)
    assert post_of(sim, channel).embeds[0]["title"] == hostile[:100]
    mine = await sim.slash(alice, "portfolio mine")
    assert "DROP TABLE" in mine.text


async def test_autocomplete_offers_the_right_requests(sim: Any) -> None:
    channel = await configure(sim)
    alice = sim.member("alice")
    rita = sim.member("rita", roles=["reviewer"])
    await submit(sim, alice, title="Edge camera counter", archetype="edge_cv")
    await submit(sim, alice, title="Support agent", archetype="agent_with_apis")
    await submit(sim, sim.member("bob"), title="Bob's pipeline", archetype="data_pipeline")
    first = post_of(sim, channel, 0)
    await sim.click(rita, first, label="Claim")
    await review(sim, rita, refreshed(sim, first))

    resubmittable = await sim.autocomplete(
        alice, "portfolio resubmit", focused="request", request=""
    )
    assert [c["name"] for c in resubmittable] == ["#1 Edge camera counter (reviewed)"]
    active = await sim.autocomplete(alice, "portfolio withdraw", focused="request", request="")
    assert [c["value"] for c in active] == [2]
    anything = await sim.autocomplete(alice, "portfolio view", focused="request", request="pipe")
    assert [c["name"] for c in anything] == ["#3 Bob's pipeline (open)"]
    by_number = await sim.autocomplete(alice, "portfolio view", focused="request", request="#2")
    assert [c["value"] for c in by_number] == [2]
    assert await sim.autocomplete(alice, "portfolio view", focused="request", request="%") == []


async def test_unclaim_returns_the_request_to_the_queue(sim: Any) -> None:
    channel = await configure(sim)
    rita = sim.member("rita", roles=["reviewer"])
    rex = sim.member("rex", roles=["reviewer"])
    await submit(sim, sim.member("alice"))
    post = post_of(sim, channel)
    await sim.click(rita, post, label="Claim")
    refused = await sim.click(rex, refreshed(sim, post), label="Unclaim")
    assert "Only the reviewer who claimed" in said(refused)
    done = await sim.click(rita, refreshed(sim, post), label="Unclaim")
    assert "back in the queue" in said(done)
    assert buttons(refreshed(sim, post)) == ["Claim", "Withdraw"]
    claimed = await sim.click(rex, refreshed(sim, post), label="Claim")
    assert "You claimed" in said(claimed)


async def test_mine_pages_through_many_requests(sim: Any) -> None:
    await configure(sim)
    alice = sim.member("alice")
    for n in range(7):
        request = await sim.services.portfolio.submit(
            sim.guild.id,
            alice.id,
            request_draft(
                sim.services.portfolio.rubric,
                archetype="other",
                title=f"Project {n}",
                repo_url=REPO,
                demo_url="",
                description=FORM["description"],
                feedback_wanted="Anything",
                self_check="complete",
            ),
        )
        await sim.services.portfolio.withdraw(sim.guild.id, request.id, Actor(alice.id))
    first = await sim.slash(alice, "portfolio mine")
    assert "Page 1 of 2" in first.text and "Project 6" in first.text
    second = await sim.click(alice, first.message, label="Next")
    assert "Page 2 of 2" in second.text and "Project 0" in second.text
    other = await sim.click(sim.member("bob"), second.message, label="Previous")
    assert "someone else's" in said(other)


async def test_in_a_forum_the_nudge_is_its_own_post(sim: Any) -> None:
    forum = await configure(sim, forum=True)
    await submit(sim, sim.member("alice"))
    await sim.advance(hours=49)
    names = [t["name"] for t in sim.threads(forum)]
    assert names[-1] == "Waiting for a reviewer (2026-03-04)" and len(names) == 2
    nudge = sim.messages(int(sim.threads(forum)[-1]["id"]))[0]
    assert nudge.content.startswith(f"<@&{sim.guild.role('reviewer')}> 1 review request")
    await sim.advance(hours=2)
    assert len(sim.threads(forum)) == 2
