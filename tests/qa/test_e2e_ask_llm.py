"""/ask through the simulator with a model: the real openai client against the fake server."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from bot.config import Settings
from bot.services.guild_settings import ChannelKind
from simulator.harness import SimHarness
from tests.qa.fake_llm import FakeLLM, Reply
from tests.qa.sim_support import button_ids, message_bodies, sent_payloads, wait_until


@pytest.fixture
def settings(db_settings: dict[str, Any], fake_llm: FakeLLM) -> Settings:
    return Settings(
        _env_file=None,
        **db_settings,
        llm_base_url=fake_llm.base_url,
        llm_max_retries=0,
        llm_timeout_seconds=3,
        qa_edit_interval_seconds=0.2,
    )


async def question_row(sim: SimHarness) -> dict:
    row = await sim.services.db.fetch_one("SELECT * FROM qa_questions ORDER BY id DESC LIMIT 1")
    assert row is not None
    return dict(row)


def answer_in(sim: SimHarness, channel: int) -> list:
    return [m for m in sim.messages(channel) if m.author_id == sim.server.state.bot_user.id]


async def test_streamed_answer_is_edited_in_and_cited(sim: SimHarness, fake_llm: FakeLLM) -> None:
    words = "Start with Python, statistics and linear algebra in months 1 to 3 [1]."
    fake_llm.queue(Reply(text=words, chunk_delay=0.05, prompt_tokens=800, completion_tokens=20))
    r = await sim.slash(sim.member("alice"), "ask", question="What do I learn first?")
    assert r.content == words
    assert 2 <= r.message.edits <= 6  # streamed, at most about one edit per interval
    sources = r.embeds[0]
    assert sources["title"] == "Sources" and sources["description"].startswith("**[1]**")
    assert "AI answer" in sources["footer"]["text"]
    assert any(i.startswith("qa:follow:") for i in button_ids(r.message))
    row = await question_row(sim)
    assert (row["status"], row["mode"], row["prompt_tokens"], row["completion_tokens"]) == (
        "answered",
        "llm",
        800,
        20,
    )
    request = fake_llm.requests[-1]
    assert request["stream"] is True and request["messages"][0]["role"] == "system"


async def test_stop_keeps_the_answer_so_far(sim: SimHarness, fake_llm: FakeLLM) -> None:
    text = " ".join(f"word{i}" for i in range(200))
    fake_llm.queue(Reply(text=text, chunk_delay=0.02))
    alice = sim.member("alice")
    general = sim.guild.channel("general")
    asking = asyncio.create_task(sim.slash(alice, "ask", question="Tell me everything"))
    message = await wait_until(
        lambda: next(
            (m for m in sim.messages(general) if any("qa:stop:" in i for i in button_ids(m))),
            None,
        )
    )
    bob = sim.member("bob")
    stranger = asyncio.create_task(sim.click(bob, message, label="Stop"))
    await wait_until(
        lambda: any(
            i.user_id == bob.id and i.response_type is not None
            for i in sim.server.state.interactions.values()
        )
    )
    assert not asking.done()  # a stranger's click does not stop it
    await sim.click(alice, message, label="Stop")
    r = await asyncio.wait_for(asking, 5)
    assert "Only the member who asked" in (await stranger).content
    assert "*— stopped —*" in r.content
    assert "word199" not in r.content and "word0" in r.content
    assert not any("qa:stop:" in i for i in button_ids(r.message))
    row = await question_row(sim)
    assert row["status"] == "stopped" and row["answer"].startswith("word0")


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("server", "server error"),
        ("rate_limit", "busy right now"),
        ("context", "more text than the AI model can read"),
    ],
)
async def test_model_errors_end_in_an_honest_message(
    sim: SimHarness, fake_llm: FakeLLM, error: str, says: str
) -> None:
    fake_llm.queue(Reply(error=error))  # type: ignore[arg-type]
    r = await sim.slash(sim.member("alice"), "ask", question="What is a transformer?")
    assert says in r.content and "Nothing was counted" in r.content
    row = await question_row(sim)
    assert row["status"] == "failed" and row["prompt_tokens"] == 0


async def test_timeout_ends_in_an_honest_message(sim: SimHarness, fake_llm: FakeLLM) -> None:
    sim.services.qa.llm = sim.services.qa.llm.with_options(timeout=0.2)  # type: ignore[union-attr]
    fake_llm.queue(Reply(stall=1.0))
    r = await sim.slash(sim.member("alice"), "ask", question="What is a transformer?")
    assert "took too long" in r.content


async def test_exhausted_quota_answers_from_excerpts_and_tells_moderators_once(
    sim: SimHarness, fake_llm: FakeLLM
) -> None:
    qa_channel = sim.guild.channel("qa")
    await sim.services.guild_settings.set_channel(sim.guild.id, ChannelKind.QA, qa_channel)
    fake_llm.queue(Reply(error="insufficient_quota"), Reply(error="insufficient_quota"))
    r = await sim.slash(
        sim.member("alice"), "ask", question="What does an AI research assistant do?"
    )
    assert "AI Research Assistant** [1]\n> " in r.content and "quota" in r.content
    notices = [m for m in sim.messages(qa_channel) if "insufficient_quota" in m.content]
    assert len(notices) == 1
    sim.services.qa._quota_paused_until = None  # as if the pause ran out
    await sim.slash(sim.member("bob"), "ask", question="What does a data annotator do?")
    notices = [m for m in sim.messages(qa_channel) if "insufficient_quota" in m.content]
    assert len(notices) == 1


async def test_long_answer_is_split_without_breaking_code(
    sim: SimHarness, fake_llm: FakeLLM
) -> None:
    code = "\n".join(f"step_{i} = run({i})" for i in range(150))
    text = ("Here is a long walkthrough. " * 60) + f"\n\n```python\n{code}\n```\n\nDone [1]."
    fake_llm.queue(Reply(text=text, chunks=[text[i : i + 400] for i in range(0, len(text), 400)]))
    r = await sim.slash(sim.member("alice"), "ask", question="Show me a long example")
    pieces = [r.message, *r.followups]
    assert len(pieces) >= 3
    assert all(len(p.content) <= 2000 for p in pieces)
    assert all(len(re.findall(r"^```", p.content, re.M)) % 2 == 0 for p in pieces)
    steps = [line for p in pieces for line in p.content.splitlines() if line.startswith("step_")]
    assert steps == code.splitlines()
    assert pieces[-1].embeds and any(i.startswith("qa:vote:") for i in button_ids(pieces[-1]))
    assert not pieces[0].embeds


async def test_answer_after_the_token_expired_goes_out_as_a_channel_message(
    sim: SimHarness, fake_llm: FakeLLM
) -> None:
    gate = asyncio.Event()
    fake_llm.queue(Reply(text="A very late answer [1].", gate=gate))
    general = sim.guild.channel("general")
    asking = asyncio.create_task(
        sim.slash(sim.member("alice"), "ask", question="What is in phase 1 of the roadmap?")
    )
    await wait_until(lambda: fake_llm.requests)
    sim.clock.advance(minutes=16)
    sim.age_interactions(16 * 60)
    gate.set()
    await asyncio.wait_for(asking, 5)
    late = [m for m in sim.messages(general) if m.content == "A very late answer [1]."]
    assert len(late) == 1 and late[0].interaction_id is None
    assert late[0].embeds[0]["title"] == "Sources"
    assert sim.take_problems() == []  # the expired token was never used


async def test_expired_token_reported_by_discord_also_switches(
    sim: SimHarness, fake_llm: FakeLLM
) -> None:
    gate = asyncio.Event()
    fake_llm.queue(Reply(text="Answer after Discord said no.", gate=gate))
    general = sim.guild.channel("general")
    asking = asyncio.create_task(sim.slash(sim.member("alice"), "ask", question="Slow two?"))
    await wait_until(lambda: fake_llm.requests)
    sim.age_interactions(16 * 60)  # the bot's clock has not moved: Discord tells it
    gate.set()
    await asyncio.wait_for(asking, 5)
    assert [m.content for m in sim.messages(general) if m.interaction_id is None] == [
        "Answer after Discord said no."
    ]
    problems = sim.take_problems()
    assert problems and all(
        "50027" in str(p) or "Invalid Webhook Token" in str(p) for p in problems
    )


async def test_same_question_is_answered_from_cache(sim: SimHarness, fake_llm: FakeLLM) -> None:
    await sim.slash(sim.member("alice"), "ask", question="What is RAG?")
    r = await sim.slash(sim.member("bob"), "ask", question="what is RAG")
    assert "from cache" in r.embeds[0]["footer"]["text"]
    assert len(fake_llm.requests) == 1


async def test_model_text_never_pings(sim: SimHarness, fake_llm: FakeLLM) -> None:
    role = sim.guild.role("moderator")
    fake_llm.queue(Reply(text=f"Hey @everyone and @here and <@&{role}>, read [1]!"))
    with sent_payloads() as bodies:
        r = await sim.slash(sim.member("alice"), "ask", question="Who should I ask?")
    assert "@\u200beveryone" in r.content and "@\u200bhere" in r.content
    sent = message_bodies(bodies)
    assert sent and all(b.get("allowed_mentions") == {"parse": []} for b in sent)


async def test_follow_up_sends_the_conversation_to_the_model(
    sim: SimHarness, fake_llm: FakeLLM
) -> None:
    alice = sim.member("alice")
    fake_llm.queue(Reply(text="Phase 3 is deep learning and LLMs [1]."))
    r = await sim.slash(alice, "ask", question="What is phase 3?")
    await sim.click(alice, r.message, label="Follow up")
    (thread,) = sim.threads(sim.guild.channel("general"))
    fake_llm.queue(Reply(text="Then deploy an app."))
    follow = await sim.slash(alice, "ask", in_channel=int(thread["id"]), question="And then?")
    assert follow.content == "Then deploy an app."
    history = fake_llm.requests[-1]["messages"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user"]
    assert history[2]["content"] == "Phase 3 is deep learning and LLMs [1]."
