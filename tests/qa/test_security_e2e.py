"""Q&A security through the simulator: private questions, limits, escalations, promotion."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.config import Settings
from simulator.harness import SimHarness
from tests.markdown_render import live_links
from tests.qa.fake_llm import FakeLLM, Reply
from tests.qa.sim_support import message_command

PROMOTE = "Promote to knowledge base"


@pytest.fixture
def settings(tmp_path: Path, fake_llm: FakeLLM) -> Settings:
    return Settings(
        _env_file=None,
        database_path=tmp_path / "mentor.db",
        llm_base_url=fake_llm.base_url,
        llm_max_retries=0,
        llm_timeout_seconds=3,
        qa_edit_interval_seconds=0.2,
    )


def sent_to_model(fake_llm: FakeLLM) -> str:
    """Everything the last request to the model contained, as one string."""
    return "\n".join(m["content"] for m in fake_llm.requests[-1]["messages"])


async def test_a_follow_up_never_sends_another_members_private_question_to_the_model(
    sim: SimHarness, fake_llm: FakeLLM
) -> None:
    alice, bob = sim.member("alice"), sim.member("bob")
    fake_llm.queue(Reply(text="Phase 3 is deep learning and LLMs [1]."))
    first = await sim.slash(alice, "ask", question="What is phase 3 of the roadmap?")
    await sim.click(alice, first.message, label="Follow up")
    (thread,) = sim.threads(sim.guild.channel("general"))
    thread_id = int(thread["id"])

    secret = "I was fired from Initech last week, how do I explain that gap"
    fake_llm.queue(Reply(text="Be honest and brief about the gap."))
    private = await sim.slash(bob, "ask", in_channel=thread_id, question=secret, private=True)
    assert private.ephemeral
    fake_llm.queue(Reply(text="Public follow-ups are fine too."))
    await sim.slash(bob, "ask", in_channel=thread_id, question="Which projects suit phase 3?")

    fake_llm.queue(Reply(text="Then deploy an app."))
    await sim.slash(alice, "ask", in_channel=thread_id, question="And after phase 3?")
    seen_by_alice = sent_to_model(fake_llm)
    assert "Initech" not in seen_by_alice and "honest and brief" not in seen_by_alice
    assert "Which projects suit phase 3?" in seen_by_alice  # Bob's public one stays
    assert "What is phase 3 of the roadmap?" in seen_by_alice

    fake_llm.queue(Reply(text="Yes."))
    await sim.slash(bob, "ask", in_channel=thread_id, question="Should I mention it at all?")
    assert "Initech" in sent_to_model(fake_llm)  # his own private question is his to see


async def test_qa_limits_cannot_lift_the_operators_budgets(sim: SimHarness) -> None:
    mod = sim.member("mo", moderator=True)
    for options in ({"member_tokens": 0}, {"member_tokens": 100_000_000}, {"server_tokens": 0}):
        refused = await sim.slash(mod, "qa limits", **options)
        assert refused.ephemeral and "operator allows at most" in refused.content
        assert "Nothing was changed" in refused.content
    shown = await sim.slash(mod, "qa limits")
    assert "per member: 20,000 tokens (the operator's limit)" in shown.content
    assert "for the server: 200,000 tokens (the operator's limit)" in shown.content
    lowered = await sim.slash(mod, "qa limits", server_tokens=50_000)
    assert "50,000 tokens (this server's choice; the operator allows up to 200,000)" in (
        lowered.content
    )


async def test_privacy_delete_does_not_give_a_fresh_rate_limit(sim: SimHarness) -> None:
    alice = sim.member("alice")
    for n in range(5):
        answered = await sim.slash(alice, "ask", question=f"Roadmap question number {n}")
        assert not answered.ephemeral
    asked = await sim.slash(alice, "privacy delete")
    done = await sim.click(alice, asked.message, label="Erase my data")
    assert "erased" in done.content
    again = await sim.slash(alice, "ask", question="Am I limited again after erasing?")
    assert again.ephemeral and "You've asked 5 questions" in again.content
    rows = await sim.services.db.fetch_all("SELECT user_id, question FROM qa_questions")
    assert {(r["user_id"], r["question"]) for r in rows} == {(0, "")}


async def test_a_double_click_on_ask_a_mentor_posts_once(sim: SimHarness) -> None:
    mod, alice = sim.member("mo", moderator=True), sim.member("alice")
    qa_channel = sim.guild.channel("qa")
    await sim.slash(mod, "config channel", kind="qa", channel=qa_channel)
    r = await sim.slash(alice, "ask", question="How do I pitch a GPU budget to my manager?")
    first, second = await asyncio.gather(
        sim.click(alice, r.message, label="Ask a mentor"),
        sim.click(alice, r.message, label="Ask a mentor"),
    )
    assert len(sim.messages(qa_channel)) == 1
    told = [first.content, second.content, *(f.content for f in first.followups)]
    assert any("already with the mentors" in (text or "") for text in told)


async def test_the_promote_form_checks_moderator_rights_when_it_is_submitted(
    sim: SimHarness,
) -> None:
    mod = sim.member("mo", moderator=True)
    message = sim.server.state.add_message(
        sim.guild.channel("general"), sim.member("alice").id, content="Use uv for envs."
    )
    form = await message_command(sim, mod, PROMOTE, message)
    assert form.modal is not None
    sim.guild.members[mod.id].role_ids.clear()  # no longer a moderator
    refused = await sim.submit_modal(mod, form, {"The question this answers": "Env tool?"})
    assert refused.ephemeral and "Only moderators" in refused.content
    documents = await sim.services.db.fetch_value(
        "SELECT count(*) FROM qa_documents WHERE source = 'promoted'"
    )
    assert documents == 0


async def test_ask_shows_masked_links_as_text_unless_the_kb_or_this_server_gave_them(
    sim: SimHarness, fake_llm: FakeLLM
) -> None:
    mod, alice = sim.member("mo", moderator=True), sim.member("alice")
    form = await sim.slash(mod, "kb add")
    await sim.submit_modal(
        mod,
        form,
        {
            "Title": "Study group",
            "Text (Markdown; ## headings make sections)": (
                "## Meetings\n\nThe study group meets on Thursdays; the schedule is at "
                "https://docs.example.org/schedule for everyone."
            ),
        },
    )
    server_link = f"https://discord.com/channels/{sim.guild.id}/123"
    reply = (
        "See [the schedule](https://docs.example.org/schedule) [1], ask in "
        f"[our channel]({server_link}), and [log in to confirm your seat]"
        "(https://evil.example/login) @everyone."
    )
    fake_llm.queue(Reply(text=reply, chunk_delay=0.02))
    answer = await sim.slash(alice, "ask", question="When does the study group meet?")
    links = live_links(answer.content)
    assert links == [
        ("the schedule", "https://docs.example.org/schedule"),
        ("our channel", server_link),
    ]
    assert "log in to confirm your seat (https://evil.example/login)" in answer.content
    assert "@everyone" not in answer.content and not answer.message.pinged
    stored = await sim.services.db.fetch_value("SELECT answer FROM qa_questions ORDER BY id DESC")
    assert "](https://evil.example" not in stored
