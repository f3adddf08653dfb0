"""The real openai client against the fake server: streaming, usage, errors, stop."""

from __future__ import annotations

import asyncio

import pytest
from openai import AsyncOpenAI

from bot.config import Settings
from bot.services.qa.llm import ChatStream, FailureKind, LLMFailure
from bot.services.qa.prompt import estimate_messages, estimate_tokens
from bot.wiring import build_llm_client
from tests.qa.fake_llm import FakeLLM, Reply

MESSAGES = [
    {"role": "system", "content": "You are a mentor."},
    {"role": "user", "content": "What comes first on the roadmap?"},
]


def chat(client: AsyncOpenAI, *, streaming: bool = True) -> ChatStream:
    return ChatStream(
        client,
        model="test-model",
        messages=MESSAGES,
        max_tokens=100,
        temperature=0.2,
        streaming=streaming,
    )


async def collect(stream: ChatStream) -> list[str]:
    return [delta async for delta in stream]


@pytest.mark.parametrize("where", ["separate", "last"])
async def test_streamed_answer_with_usage_wherever_it_comes(
    fake_llm: FakeLLM, llm_client: AsyncOpenAI, where: str
) -> None:
    fake_llm.queue(
        Reply(text="Learn Python first.", usage=where, prompt_tokens=50, completion_tokens=7)
    )
    stream = chat(llm_client)
    deltas = await collect(stream)
    assert deltas == ["Learn", " Python", " first."]
    assert stream.text == "Learn Python first."
    usage = stream.usage()
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (50, 7, False)
    request = fake_llm.requests[-1]
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    assert request["model"] == "test-model"
    assert request["messages"] == MESSAGES


async def test_server_without_usage_gets_an_estimate(
    fake_llm: FakeLLM, llm_client: AsyncOpenAI
) -> None:
    fake_llm.queue(Reply(text="A reasonably long answer about linear algebra.", usage="none"))
    stream = chat(llm_client)
    await collect(stream)
    usage = stream.usage()
    assert usage.estimated
    assert usage.prompt_tokens == estimate_messages(MESSAGES)
    assert usage.completion_tokens == estimate_tokens(stream.text)


async def test_non_streaming_answer(fake_llm: FakeLLM, llm_client: AsyncOpenAI) -> None:
    fake_llm.queue(Reply(text="All at once.", prompt_tokens=9, completion_tokens=3))
    stream = chat(llm_client, streaming=False)
    assert await collect(stream) == ["All at once."]
    assert stream.usage().total == 12
    assert "stream" not in fake_llm.requests[-1] or not fake_llm.requests[-1]["stream"]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("rate_limit", FailureKind.RATE_LIMITED),
        ("insufficient_quota", FailureKind.QUOTA),
        ("server", FailureKind.SERVER),
        ("context", FailureKind.CONTEXT),
    ],
)
@pytest.mark.parametrize("streaming", [True, False])
async def test_http_errors_become_failures(
    fake_llm: FakeLLM, llm_client: AsyncOpenAI, error: str, kind: FailureKind, streaming: bool
) -> None:
    fake_llm.queue(Reply(error=error))  # type: ignore[arg-type]
    with pytest.raises(LLMFailure) as caught:
        await collect(chat(llm_client, streaming=streaming))
    assert caught.value.kind is kind
    assert caught.value.message  # a short sentence for the member
    assert "sk-" not in caught.value.message


async def test_timeout_becomes_a_failure(fake_llm: FakeLLM, llm_settings: Settings) -> None:
    client = build_llm_client(llm_settings.model_copy(update={"llm_timeout_seconds": 0.2}))
    assert client is not None
    fake_llm.queue(Reply(stall=1.0))
    try:
        with pytest.raises(LLMFailure) as caught:
            await collect(chat(client))
        assert caught.value.kind is FailureKind.TIMEOUT
    finally:
        await client.close()


async def test_stream_cut_midway_is_a_failure(fake_llm: FakeLLM, llm_client: AsyncOpenAI) -> None:
    fake_llm.queue(Reply(text="one two three four", cut_after=2))
    with pytest.raises(LLMFailure):
        await collect(chat(llm_client))


async def test_client_retries_on_its_own(fake_llm: FakeLLM, llm_settings: Settings) -> None:
    """Retries are the openai client's (LLM_MAX_RETRIES); one 500 then success."""
    client = build_llm_client(llm_settings.model_copy(update={"llm_max_retries": 1}))
    assert client is not None
    fake_llm.queue(Reply(error="server"), Reply(text="Recovered."))
    try:
        stream = chat(client)
        await collect(stream)
    finally:
        await client.close()
    assert stream.text == "Recovered."
    assert len(fake_llm.requests) == 2


async def test_stop_keeps_what_arrived(fake_llm: FakeLLM, llm_client: AsyncOpenAI) -> None:
    fake_llm.queue(Reply(text="one two three four five six", chunk_delay=0.05))
    stream = chat(llm_client)
    seen = []
    async for delta in stream:
        seen.append(delta)
        if len(seen) == 2:
            stream.stop()
    assert stream.stopped
    assert stream.text == "one two"
    assert stream.usage().estimated  # the usage chunk never came


async def test_stop_before_the_first_token(fake_llm: FakeLLM, llm_client: AsyncOpenAI) -> None:
    gate = asyncio.Event()
    fake_llm.queue(Reply(text="never shown", gate=gate))
    stream = chat(llm_client)
    task = asyncio.create_task(collect(stream))
    await asyncio.sleep(0.05)
    stream.stop()
    assert await asyncio.wait_for(task, 1) == []
    assert stream.stopped and stream.text == ""
    gate.set()
