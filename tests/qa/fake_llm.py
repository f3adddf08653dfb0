"""A small OpenAI-compatible chat server on 127.0.0.1 for tests and benchmarks.

It speaks `/v1/chat/completions` (JSON or SSE streaming), `/v1/moderations` and
`/v1/embeddings`. Each chat request takes the next queued `Reply` (or the default one),
which sets the text, how it is chunked and delayed, where the usage figures go, and which
error to inject. Embeddings are deterministic: each word's stem (after `aliases`, which
stand in for meaning; stop words left out, as a real model weighs them little) is hashed
to one of `embedding_dimensions` dimensions, so texts sharing words are close.
"""

from __future__ import annotations

import array
import asyncio
import base64
import hashlib
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from bot.services.qa.analysis import stem, words
from bot.services.qa.vocabulary import load_vocabulary

EMBEDDING_DIMENSIONS = 64

ERRORS = {
    "rate_limit": (429, "rate_limit_exceeded", "requests", "Rate limit reached."),
    "insufficient_quota": (
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details.",
    ),
    "server": (500, None, "server_error", "The server had an error."),
    "context": (
        400,
        "context_length_exceeded",
        "invalid_request_error",
        "This model's maximum context length is 8192 tokens.",
    ),
}


@dataclass
class Reply:
    text: str = "Start with Python and statistics [1]."
    chunks: list[str] | None = None
    error: Literal["rate_limit", "insufficient_quota", "server", "context"] | None = None
    usage: Literal["separate", "last", "none"] = "separate"
    prompt_tokens: int = 120
    completion_tokens: int = 30
    first_delay: float = 0.0
    chunk_delay: float = 0.0
    stall: float = 0.0
    gate: asyncio.Event | None = None
    cut_after: int | None = None

    def deltas(self) -> list[str]:
        if self.chunks is not None:
            return self.chunks
        words = self.text.split(" ")
        return [w if i == 0 else f" {w}" for i, w in enumerate(words)]


@dataclass
class FakeLLM:
    default: Reply = field(default_factory=Reply)
    flagged_word: str = "forbidden-topic"
    requests: list[dict[str, Any]] = field(default_factory=list)
    moderation_requests: list[dict[str, Any]] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    first_byte_at: list[float] = field(default_factory=list)
    embedding_requests: list[list[str]] = field(default_factory=list)
    embedding_error: bool = False
    embedding_delay: float = 0.0
    aliases: dict[str, str] = field(default_factory=dict)
    embedding_dimensions: int = EMBEDDING_DIMENSIONS
    _queue: deque[Reply] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    base_url: str = ""

    def queue(self, *replies: Reply) -> None:
        self._queue.extend(replies)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/moderations", self._moderations)
        app.router.add_post("/v1/embeddings", self._embeddings)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _moderations(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.moderation_requests.append(body)
        flagged = self.flagged_word in json.dumps(body.get("input", ""))
        return web.json_response(
            {
                "id": "modr-1",
                "model": body.get("model", "omni-moderation-latest"),
                "results": [{"flagged": flagged, "categories": {}, "category_scores": {}}],
            }
        )

    def vector(self, text: str) -> list[float]:
        values = [0.0] * self.embedding_dimensions
        stopwords = load_vocabulary().stopwords
        for found in words(text):
            if found in stopwords:
                continue
            word = self.aliases.get(stem(found), stem(found))
            slot = int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big")
            values[slot % self.embedding_dimensions] += 1.0
        return values

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.embedding_requests.append(list(texts))
        if self.embedding_delay:
            await asyncio.sleep(self.embedding_delay)
        if self.embedding_error:
            status, code, kind, message = ERRORS["server"]
            return web.json_response(
                {"error": {"message": message, "type": kind, "param": None, "code": code}},
                status=status,
            )
        data = []
        for index, text in enumerate(texts):
            vector: Any = self.vector(text)
            if body.get("encoding_format") == "base64":
                vector = base64.b64encode(array.array("f", vector).tobytes()).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        return web.json_response(
            {
                "object": "list",
                "model": body.get("model"),
                "data": data,
                "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
            }
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.received_at.append(time.perf_counter())
        body = await request.json()
        self.requests.append(body)
        reply = self._queue.popleft() if self._queue else self.default
        if reply.stall:
            await asyncio.sleep(reply.stall)
        if reply.error is not None:
            status, code, kind, message = ERRORS[reply.error]
            return web.json_response(
                {"error": {"message": message, "type": kind, "param": None, "code": code}},
                status=status,
                headers={"retry-after-ms": "5"},
            )
        if body.get("stream"):
            return await self._stream(request, body, reply)
        if reply.first_delay:
            await asyncio.sleep(reply.first_delay)
        payload: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.text},
                    "finish_reason": "stop",
                }
            ],
        }
        if reply.usage != "none":
            payload["usage"] = _usage(reply)
        return web.json_response(payload)

    async def _stream(
        self, request: web.Request, body: dict[str, Any], reply: Reply
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if reply.gate is not None:
            await reply.gate.wait()
        if reply.first_delay:
            await asyncio.sleep(reply.first_delay)
        model = body.get("model")
        deltas = reply.deltas()
        for index, delta in enumerate(deltas):
            if reply.cut_after is not None and index >= reply.cut_after:
                request.transport.close()  # type: ignore[union-attr]
                return response
            if index == 0:
                self.first_byte_at.append(time.perf_counter())
            elif reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            chunk = _chunk(model, {"content": delta}, None)
            if index == len(deltas) - 1 and reply.usage == "last":
                chunk["choices"][0]["finish_reason"] = "stop"
                chunk["usage"] = _usage(reply)
            await response.write(_sse(chunk))
        if reply.usage != "last":
            await response.write(_sse(_chunk(model, {}, "stop")))
        include = (body.get("stream_options") or {}).get("include_usage")
        if reply.usage == "separate" and include:
            final = _chunk(model, {}, None)
            final["choices"] = []
            final["usage"] = _usage(reply)
            await response.write(_sse(final))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _chunk(model: Any, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def _sse(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()
