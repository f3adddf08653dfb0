"""One chat completion through the official `openai` client, streamed or not.

The client (built in bot/wiring.py) already retries 429, 5xx and timeouts with back-off,
so nothing here retries. Errors become an `LLMFailure` whose message is fit for a member.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import openai
from openai import AsyncOpenAI

from bot.services.qa.prompt import estimate_messages, estimate_tokens

log = logging.getLogger(__name__)


class FailureKind(StrEnum):
    RATE_LIMITED = "rate_limited"
    QUOTA = "insufficient_quota"
    TIMEOUT = "timeout"
    SERVER = "server_error"
    CONTEXT = "context_too_long"
    CONNECTION = "connection"
    REJECTED = "rejected"


FAILURE_MESSAGES = {
    FailureKind.RATE_LIMITED: "The AI model is busy right now (rate limited). "
    "Please try again in a minute.",
    FailureKind.QUOTA: "The AI model's usage quota has run out.",
    FailureKind.TIMEOUT: "The AI model took too long to answer. Please try again in a moment.",
    FailureKind.SERVER: "The AI model had a server error. Please try again in a moment.",
    FailureKind.CONTEXT: "That is more text than the AI model can read at once. "
    "Ask a shorter question, or start a new thread.",
    FailureKind.CONNECTION: "I couldn't reach the AI model. Please try again later.",
    FailureKind.REJECTED: "The AI model refused the request. The moderators can see why in "
    "the logs.",
}


class LLMFailure(Exception):
    """The model could not answer; `message` is for the member, `detail` for the log."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail

    @property
    def message(self) -> str:
        return FAILURE_MESSAGES[self.kind]


def classify(error: Exception) -> LLMFailure:
    """Turn an `openai` exception into a failure kind."""
    detail = f"{type(error).__name__}: {str(error)[:300]}"
    code = getattr(error, "code", None) or ""
    if isinstance(error, openai.RateLimitError):
        quota = code == "insufficient_quota" or "insufficient_quota" in str(error)
        return LLMFailure(FailureKind.QUOTA if quota else FailureKind.RATE_LIMITED, detail)
    if isinstance(error, openai.APITimeoutError | asyncio.TimeoutError):
        return LLMFailure(FailureKind.TIMEOUT, detail)
    if isinstance(error, openai.APIConnectionError):
        return LLMFailure(FailureKind.CONNECTION, detail)
    if isinstance(error, openai.BadRequestError):
        text = str(error).lower()
        if code == "context_length_exceeded" or "context length" in text or "too long" in text:
            return LLMFailure(FailureKind.CONTEXT, detail)
        return LLMFailure(FailureKind.REJECTED, detail)
    if isinstance(error, openai.InternalServerError):
        return LLMFailure(FailureKind.SERVER, detail)
    if isinstance(error, openai.APIStatusError):
        kind = FailureKind.SERVER if error.status_code >= 500 else FailureKind.REJECTED
        return LLMFailure(kind, detail)
    return LLMFailure(FailureKind.SERVER, detail)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    estimated: bool

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChatStream:
    """One answer being generated. Iterate it for text deltas; `stop()` ends it early.

    After iteration, `text` holds the answer, `stopped` says whether it was cut short, and
    `usage()` gives the API's token counts, or an estimate when the server sent none.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        messages: Sequence[dict[str, str]],
        max_tokens: int,
        temperature: float,
        streaming: bool = True,
    ) -> None:
        self.client = client
        self.model = model
        self.messages = list(messages)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.streaming = streaming
        self.text = ""
        self.stopped = False
        self.finish_reason: str | None = None
        self._usage: Usage | None = None
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    def usage(self) -> Usage:
        if self._usage is not None:
            return self._usage
        return Usage(estimate_messages(self.messages), estimate_tokens(self.text), True)

    async def __aiter__(self) -> AsyncIterator[str]:
        try:
            if self.streaming:
                async for delta in self._streamed():
                    yield delta
            else:
                delta = await self._whole()
                if delta:
                    yield delta
        except openai.OpenAIError as exc:
            raise classify(exc) from exc

    async def _whole(self) -> str:
        request = asyncio.ensure_future(
            self.client.chat.completions.create(
                model=self.model,
                messages=self.messages,  # type: ignore[arg-type]
                max_tokens=self.max_tokens,
                temperature=self.temperature,
            )
        )
        completion = await self._race(request)
        if completion is None:
            return ""
        if completion.usage is not None:
            self._usage = _usage_of(completion.usage)
        if completion.choices:
            self.finish_reason = completion.choices[0].finish_reason
            self.text = completion.choices[0].message.content or ""
        return self.text

    async def _streamed(self) -> AsyncIterator[str]:
        request = asyncio.ensure_future(
            self.client.chat.completions.create(
                model=self.model,
                messages=self.messages,  # type: ignore[arg-type]
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        stream = await self._race(request)
        if stream is None:
            return
        try:
            chunks = stream.__aiter__()
            while True:
                chunk = await self._race(asyncio.ensure_future(anext(chunks, None)))
                if chunk is None:
                    break
                if getattr(chunk, "usage", None) is not None:
                    self._usage = _usage_of(chunk.usage)
                for choice in chunk.choices or ():
                    if choice.finish_reason:
                        self.finish_reason = choice.finish_reason
                    delta = choice.delta.content if choice.delta else None
                    if delta:
                        self.text += delta
                        yield delta
        finally:
            with contextlib.suppress(Exception):
                await stream.close()

    async def _race(self, task: asyncio.Future[Any]) -> Any:
        """The task's result, or None (task cancelled) when `stop()` comes first."""
        if self._stop.is_set():
            task.cancel()
            self.stopped = True
            return None
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()
            raise
        finally:
            stopper.cancel()
        if task in done:
            return task.result()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        self.stopped = True
        return None


def _usage_of(usage: Any) -> Usage:
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    return Usage(prompt, completion, False)


async def moderation_flagged(client: AsyncOpenAI, model: str, text: str) -> bool:
    """True when the moderation endpoint flags `text`; an unreachable endpoint lets it pass."""
    try:
        result = await client.moderations.create(model=model, input=text)
    except openai.OpenAIError:
        log.warning("Moderation check failed; letting the question through", exc_info=True)
        return False
    return any(item.flagged for item in result.results)
