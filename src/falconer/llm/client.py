"""The LLM as the rest of Falconer sees it: cache, validation, one repair, accounting.

A backend only knows how to get text. `LLMClient.ask` adds what makes runs cheap to repeat
and safe: a cache lookup first; after a call, the parser validates the reply; an invalid
reply gets exactly one repair request; only a valid answer is cached; everything is
metered per stage. A failure raises `LLMError` with a short reason for that one item:
`InvalidAnswerError` when the model answered but never validly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from falconer.llm.base import (
    ChatRequest,
    ChatResponse,
    InvalidAnswerError,
    LLMBackend,
    LLMError,
    Message,
)
from falconer.llm.cache import CachedAnswer, ResponseCache, cache_key
from falconer.llm.structured import InvalidOutputError
from falconer.llm.usage import UsageMeter

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    value: T
    response: ChatResponse


class LLMClient:
    def __init__(
        self,
        backend: LLMBackend,
        *,
        cache: ResponseCache | None = None,
        meter: UsageMeter | None = None,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.meter = meter or UsageMeter()

    async def ask(
        self,
        request: ChatRequest,
        parse: Callable[[ChatResponse], T],
        *,
        template_version: str,
        stage: str = "annotate",
    ) -> Answer[T]:
        key = cache_key(self.backend.backend, self.backend.model, template_version, request)
        hit = self._lookup(key, parse, stage)
        if hit is not None:
            return hit
        response = await self._call(request, stage)
        try:
            value = parse(response)
        except InvalidOutputError as problem:
            response, value = await self._repair(request, response, problem, parse, stage)
        self._store(key, template_version, response)
        return Answer(value, response)

    def _lookup(self, key: str, parse: Callable[[ChatResponse], T], stage: str) -> Answer[T] | None:
        if self.cache is None:
            return None
        found = self.cache.get(key)
        if found is None:
            self.meter.count(stage, "cache_misses")
            return None
        response = ChatResponse(
            found.text,
            found.usage,
            0.0,
            cached=True,
            first_token_logprobs=json.loads(found.logprobs_json),
        )
        try:
            value = parse(response)
        except InvalidOutputError:  # a parser changed since; treat as a miss
            self.meter.count(stage, "cache_misses")
            return None
        self.meter.count(stage, "cache_hits")
        return Answer(value, response)

    async def _call(self, request: ChatRequest, stage: str) -> ChatResponse:
        try:
            response = await self.backend.chat(request)
        except LLMError as error:
            self.meter.count(stage, "failures")
            self.meter.count(stage, "retries", max(error.attempts - 1, 0))
            raise
        self.meter.record_call(
            stage,
            model=self.backend.model,
            prompt_tokens=response.usage.prompt_tokens,
            completion_tokens=response.usage.completion_tokens,
            seconds=response.latency_s,
            retries=response.retries,
            cpu_threads=self.backend.threads if self.backend.is_local else None,
        )
        return response

    async def _repair(
        self,
        request: ChatRequest,
        bad: ChatResponse,
        problem: InvalidOutputError,
        parse: Callable[[ChatResponse], T],
        stage: str,
    ) -> tuple[ChatResponse, T]:
        """One more call showing the model its invalid reply and what was wrong with it."""
        self.meter.count(stage, "repairs")
        wanted = (
            "only a JSON object that matches the schema"
            if request.schema is not None
            else "only the answer in the requested format"
        )
        repair = ChatRequest(
            messages=(
                *request.messages,
                Message("assistant", bad.text[:2000]),
                Message("user", f"That reply is invalid ({problem}). Reply again with {wanted}."),
            ),
            schema=request.schema,
            schema_name=request.schema_name,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            seed=request.seed,
            top_logprobs=request.top_logprobs,
        )
        response = await self._call(repair, stage)
        try:
            return response, parse(response)
        except InvalidOutputError as again:
            self.meter.count(stage, "failures")
            raise InvalidAnswerError(f"invalid output after one repair: {again}") from None

    def _store(self, key: str, template_version: str, response: ChatResponse) -> None:
        if self.cache is None:
            return
        self.cache.put(
            key,
            backend=self.backend.backend,
            model=self.backend.model,
            template_version=template_version,
            answer=CachedAnswer(
                response.text, response.usage, json.dumps(dict(response.first_token_logprobs))
            ),
        )

    async def aclose(self) -> None:
        await self.backend.aclose()
