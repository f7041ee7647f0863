"""Any server speaking OpenAI's /chat/completions: OpenAI, vLLM, SGLang, Ollama, llama.cpp.

A flaky endpoint must cost retries, not the run: 429, 5xx, timeouts, dropped connections and
unreadable bodies are retried with exponential backoff and full jitter (Retry-After honoured);
only what is still failing after `max_retries` becomes an `LLMError` for that one document.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from falconer.llm.base import (
    BackendUnavailableError,
    ChatRequest,
    ChatResponse,
    LLMBackend,
    LLMError,
    TokenUsage,
    TransientLLMError,
    first_token_logprobs,
)
from falconer.llm.loops import LoopLocal
from falconer.llm.ratelimit import MinuteBudget
from falconer.llm.secrets import api_key_from_environment, redact

OPENAI_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
# a wrong key, a forbidden or unknown model or path: every request would get the same answer
REFUSAL_STATUSES = frozenset({401, 403, 404})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential backoff, but never sooner than the server asked."""
        backoff = random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))
        if retry_after is not None:
            return max(backoff, min(retry_after, self.max_retry_after_s))
        return backoff


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (number or HTTP date); None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class OpenAICompatibleBackend(LLMBackend):
    backend = "openai-compatible"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_concurrency: int = 8,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        supports_schema: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._api_key = api_key if api_key is not None else api_key_from_environment()
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.supports_schema = supports_schema
        self._semaphore = LoopLocal(lambda: asyncio.Semaphore(max_concurrency))
        self._requests = MinuteBudget(requests_per_minute)
        self._tokens = MinuteBudget(tokens_per_minute)
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:  # never show the key
        return f"OpenAICompatibleBackend({self.base_url!r}, {self.model!r})"

    def describe(self) -> str:
        return f"{self.backend}:{self.base_url}#{self.model}"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
            self._client = httpx.AsyncClient(
                base_url=self.base_url, headers=headers, timeout=httpx.Timeout(self.timeout_s)
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_dict() for m in request.messages],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "seed": request.seed,
        }
        if request.top_logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = request.top_logprobs
        if request.schema is not None and self.supports_schema:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": request.schema_name,
                    "schema": dict(request.schema),
                    "strict": False,
                },
            }
        return body

    async def chat(self, request: ChatRequest) -> ChatResponse:
        body = self.payload(request)
        estimate = sum(len(m.content) for m in request.messages) / 4 + request.max_tokens
        attempt = 0
        while True:
            try:
                async with self._semaphore.get():
                    await self._requests.acquire()
                    await self._tokens.acquire(estimate)
                    response = await self._post(body)
                self._tokens.record(
                    response.usage.prompt_tokens + response.usage.completion_tokens - estimate
                )
                return ChatResponse(
                    response.text,
                    response.usage,
                    response.latency_s,
                    retries=attempt,
                    first_token_logprobs=response.first_token_logprobs,
                )
            except TransientLLMError as error:
                if attempt >= self.retry.max_retries:
                    raise BackendUnavailableError(
                        f"gave up after {attempt + 1} attempts: {error.reason}",
                        attempts=attempt + 1,
                    ) from None
                await asyncio.sleep(self.retry.delay(attempt, error.retry_after))
                attempt += 1

    async def _post(self, body: dict[str, Any]) -> ChatResponse:
        """One HTTP attempt; classifies every failure as transient or permanent."""
        started = time.perf_counter()
        try:
            reply = await self._http().post("/chat/completions", json=body)
        except httpx.TimeoutException:
            raise TransientLLMError(f"timeout after {self.timeout_s:g}s") from None
        except httpx.TransportError as error:
            reason = self._safe(f"connection error: {type(error).__name__}: {error}")
            raise TransientLLMError(reason) from None
        latency = time.perf_counter() - started
        if reply.status_code in RETRY_STATUSES:
            raise TransientLLMError(
                f"HTTP {reply.status_code}",
                retry_after=parse_retry_after(reply.headers.get("retry-after")),
            )
        if reply.status_code >= 400:
            reason = self._safe(f"HTTP {reply.status_code}: {reply.text[:200]}")
            if reply.status_code in REFUSAL_STATUSES:
                raise BackendUnavailableError(reason)
            raise LLMError(reason)
        return self._parse(reply, latency)

    def _parse(self, reply: httpx.Response, latency: float) -> ChatResponse:
        try:
            data = reply.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
        except (json.JSONDecodeError, KeyError, IndexError, TypeError):
            raise TransientLLMError("unreadable response body") from None
        usage = data.get("usage") or {}
        return ChatResponse(
            text=str(text),
            usage=TokenUsage(
                int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
            ),
            latency_s=latency,
            first_token_logprobs=first_token_logprobs(choice),
        )

    def _safe(self, text: str) -> str:
        return redact(text, self._api_key)
