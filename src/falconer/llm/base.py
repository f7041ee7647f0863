"""The one LLM interface every backend implements: chat messages in, text (or JSON) out.

Kept deliberately small so that adding a backend means writing one `chat` coroutine; caching,
validation, repair and accounting live above it (see `client.py`) and work for all backends.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from falconer.core.errors import FalconerError

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What is asked of the LLM. Every field takes part in the cache key."""

    messages: tuple[Message, ...]
    schema: Mapping[str, Any] | None = None
    schema_name: str = "answer"
    temperature: float = 0.0
    max_tokens: int = 256
    seed: int = 0
    top_logprobs: int = 0

    def sampling(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "top_logprobs": self.top_logprobs,
        }

    def fingerprint(self) -> str:
        """A canonical JSON form of messages, schema and sampling (hashed into cache keys)."""
        return json.dumps(
            {
                "messages": [m.to_dict() for m in self.messages],
                "schema": self.schema,
                "schema_name": self.schema_name,
                "sampling": self.sampling(),
            },
            sort_keys=True,
            ensure_ascii=False,
        )


@dataclass(frozen=True, slots=True)
class TokenUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
        )


@dataclass(frozen=True, slots=True)
class ChatResponse:
    """One answer. `first_token_logprobs` maps candidate first tokens to log-probabilities
    when the backend returns them (used to turn yes/no answers into calibrated scores)."""

    text: str
    usage: TokenUsage
    latency_s: float
    retries: int = 0
    cached: bool = False
    first_token_logprobs: Mapping[str, float] = field(default_factory=dict)


class LLMError(FalconerError):
    """A call that did not produce a usable answer. `reason` is short and safe to log."""

    def __init__(self, reason: str, *, attempts: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class InvalidAnswerError(LLMError):
    """The model answered, but not in a valid form even after one repair. Unlike a backend
    that cannot be reached or refuses the request, asking differently may still help."""


class BackendUnavailableError(LLMError):
    """The backend cannot answer now, whatever is asked: unreachable, refusing the key or the
    model, or still failing after its retries. Callers stop instead of asking again."""


class TransientLLMError(LLMError):
    """Worth retrying: rate limit, server error, timeout, broken connection or body."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class LLMBackend(ABC):
    """A source of chat completions. `backend` and `model` name it in cache keys and records."""

    backend: str
    model: str
    max_concurrency: int = 1
    supports_schema: bool = True
    is_local: bool = False
    threads: int = 1

    @abstractmethod
    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Answer one request, retrying transient faults itself; raise LLMError if it cannot."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most backends need none
        """Release connections or models; the default has nothing to release. The backend
        stays usable: its next request connects or loads again."""

    def describe(self) -> str:
        return f"{self.backend}:{self.model}"


def messages(*pairs: tuple[Role, str]) -> tuple[Message, ...]:
    """Build a message tuple from (role, content) pairs."""
    return tuple(Message(role, content) for role, content in pairs)


def first_token_logprobs(choice: Mapping[str, Any]) -> dict[str, float]:
    """Read OpenAI-style `logprobs.content[0].top_logprobs` from a choice, if present."""
    logprobs = choice.get("logprobs") or {}
    content: Sequence[Mapping[str, Any]] = logprobs.get("content") or []
    if not content:
        return {}
    result: dict[str, float] = {}
    for item in content[0].get("top_logprobs") or []:
        token = str(item.get("token", ""))
        if token not in result:
            result[token] = float(item.get("logprob", -100.0))
    return result
