"""The network backend against a real fake server on 127.0.0.1 (faults injected there)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest
from fake_server import HALLUCINATION, FakeLLMServer

from falconer.annotator.annotator import Annotator
from falconer.annotator.records import AnnotationRun
from falconer.core.documents import Document
from falconer.llm.base import (
    BackendUnavailableError,
    ChatRequest,
    InvalidAnswerError,
    LLMError,
    Message,
)
from falconer.llm.cache import ResponseCache, cache_key
from falconer.llm.client import LLMClient
from falconer.llm.openai_compatible import OpenAICompatibleBackend, RetryPolicy
from falconer.llm.ratelimit import MinuteBudget
from falconer.planner import Planner

NAMES = ["Report", "Alice", "Moreau", "Bruno", "Keller", "Vienna"]
FAST_RETRY = RetryPolicy(max_retries=5, base_delay_s=0.01, max_delay_s=0.05)


def _docs(n: int) -> list[Document]:
    return [
        Document(f"d{i}", f"Report {i} : Alice Moreau met Bruno Keller in Vienna .")
        for i in range(n)
    ]


def _annotate(
    server: FakeLLMServer, cache: ResponseCache | None, docs: list[Document], kind: str = "span"
) -> tuple[AnnotationRun, LLMClient]:
    backend = OpenAICompatibleBackend(
        server.url, "fake-model", api_key="k", max_concurrency=16, timeout_s=0.3, retry=FAST_RETRY
    )
    client = LLMClient(backend, cache=cache)
    annotator = Annotator(client)
    instruction = "Extract the names of people." if kind == "span" else "Is it good?"

    async def go() -> AnnotationRun:
        try:
            return await annotator.annotate(instruction, kind, docs)  # type: ignore[arg-type]
        finally:
            await client.aclose()

    return asyncio.run(go()), client


def test_faulty_server_run_completes_with_every_document_annotated_or_failed(
    tmp_path: Path,
) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    docs = _docs(200)
    with FakeLLMServer(fault_rate=0.3, hang_s=1.0, seed=7) as server:
        run, client = _annotate(server, cache, docs)
    assert {a.doc_id for a in run.annotations} | {f.doc_id for f in run.failures} == {
        d.id for d in docs
    }
    assert not {a.doc_id for a in run.annotations} & {f.doc_id for f in run.failures}
    assert all(f.reason for f in run.failures)
    for fault in ("429", "500", "hang", "malformed", "broken-body"):
        assert server.counts[fault] > 0, fault
    usage = client.meter.report()["annotate"]
    assert usage["retries"] > 0 and usage["repairs"] > 0
    for annotation in run.annotations:
        assert [s.text for s in annotation.spans or ()] == NAMES
        assert HALLUCINATION in annotation.dropped
    # nothing from a failure is cached: the request that failed has no row
    annotator = Annotator(client)
    instruction = "Extract the names of people."

    def cached(request: ChatRequest, template: str) -> bool:
        version = annotator.templates[template].version
        return cache.get(cache_key("openai-compatible", "fake-model", version, request)) is not None

    for failure in run.failures:
        extraction = annotator.request(instruction, "span", failure.text)
        if failure.reason.startswith("span check failed"):
            checks = [annotator.verify_request(instruction, failure.text, w) for w in NAMES]
            assert not all(cached(check, "verify") for check in checks)
        else:
            assert not cached(extraction, "span")
    for (text,) in cache._db.execute("SELECT text FROM responses").fetchall():
        assert text == "yes" or json.loads(text)["spans"]


def test_span_check_asks_one_question_per_string_and_drops_rejected_ones() -> None:
    with FakeLLMServer() as server:
        backend = OpenAICompatibleBackend(server.url, "fake-model", api_key="k", retry=FAST_RETRY)
        client = LLMClient(backend)
        annotator = Annotator(client, verify_spans=True)
        run = annotator.annotate_sync("Extract the names of people.", "span", _docs(1))
        asyncio.run(client.aclose())
    annotation = run.annotations[0]
    assert [s.text for s in annotation.spans or ()] == [n for n in NAMES if n != "Vienna"]
    assert annotation.rejected == ("Vienna",)
    assert client.meter.report()["annotate"]["calls"] == 1 + len(NAMES)


def test_documents_that_keep_failing_are_listed_with_their_reason(tmp_path: Path) -> None:
    with FakeLLMServer(fault_rate=1.0, hang_s=1.0, seed=1) as server:
        run, client = _annotate(server, ResponseCache(tmp_path / "c.sqlite"), _docs(5))
    assert not run.annotations and len(run.failures) == 5
    assert all(
        "gave up after 6 attempts" in f.reason or "invalid output" in f.reason for f in run.failures
    )
    assert client.meter.report()["annotate"]["failures"] >= 5


def test_second_identical_run_with_warm_cache_makes_zero_llm_calls(tmp_path: Path) -> None:
    docs = [
        Document(f"d{i}", f"Review {i} : a good phone" if i % 2 else f"Note {i}") for i in range(40)
    ]
    cache = ResponseCache(tmp_path / "cache.sqlite")
    with FakeLLMServer() as server:
        first, first_client = _annotate(server, cache, docs, kind="label")
        requests_after_first = server.counts["requests"]
        second, second_client = _annotate(server, cache, docs, kind="label")
        assert server.counts["requests"] == requests_after_first
    assert first_client.meter.report()["annotate"]["calls"] == 40
    usage = second_client.meter.report()["annotate"]
    assert usage["calls"] == 0 and usage["cache_hits"] == 40 and usage["cache_misses"] == 0
    assert [a.label for a in second.annotations] == [a.label for a in first.annotations]
    assert all(a.provenance.cached for a in second.annotations)
    assert sum(a.label for a in first.annotations if a.label) == 20


def test_retry_after_header_is_honoured() -> None:
    with FakeLLMServer(retry_after="1") as server:
        server.scripted = ["429"]
        backend = OpenAICompatibleBackend(server.url, "m", api_key="k", retry=FAST_RETRY)
        request = ChatRequest((Message("user", "<document>\ngood\n</document>"),))
        started = time.perf_counter()
        response = asyncio.run(backend.chat(request))
    assert time.perf_counter() - started >= 1.0
    assert response.text == "yes" and response.retries == 1


def test_client_error_is_not_retried() -> None:
    with FakeLLMServer() as server:
        server.scripted = ["401"]
        backend = OpenAICompatibleBackend(server.url, "m", api_key="k", retry=FAST_RETRY)
        with pytest.raises(LLMError, match="HTTP 401"):
            asyncio.run(backend.chat(ChatRequest((Message("user", "x"),))))
        assert server.counts["requests"] == 1


def test_annotation_stops_once_the_server_refuses_documents_in_a_row() -> None:
    # a wrong key fails every document alike: asking all 60 would only repeat the refusal
    with FakeLLMServer() as server:
        server.scripted = ["401"] * 100
        with pytest.raises(BackendUnavailableError) as raised:
            _annotate(server, None, _docs(60), kind="label")
        asked = server.counts["requests"]
    assert str(raised.value).startswith("stopped annotating: the LLM failed on ")
    assert "documents in a row (HTTP 401" in str(raised.value)
    assert 16 <= asked <= 32  # the watch's limit is the 16 calls in flight


def test_a_planner_whose_server_refuses_the_request_stops_instead_of_falling_back() -> None:
    # a request for text gets a one-step plan when the LLM answers badly, but a backend that
    # refuses would not annotate that plan either: planning ends, naming the server
    with FakeLLMServer() as server:
        server.scripted = ["401"]
        backend = OpenAICompatibleBackend(server.url, "m", api_key="k", retry=FAST_RETRY)
        with pytest.raises(LLMError) as raised:
            Planner(LLMClient(backend)).plan_sync("Extract the names of people.")
    assert not isinstance(raised.value, InvalidAnswerError)
    assert str(raised.value).startswith(f"cannot plan: openai-compatible:{server.url}#m failed")
    assert "HTTP 401" in str(raised.value) and server.counts["requests"] == 1


def test_an_unreachable_server_is_named_with_the_connection_error_after_its_retries() -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    retry = RetryPolicy(max_retries=1, base_delay_s=0.01, max_delay_s=0.01)
    backend = OpenAICompatibleBackend(url, "m", api_key="k", retry=retry)
    with pytest.raises(LLMError, match=r"gave up after 2 attempts: connection error: Connect"):
        Planner(LLMClient(backend)).plan_sync("Extract the names of people.")


def test_requests_per_minute_budget_makes_callers_wait() -> None:
    budget = MinuteBudget(2, window_s=0.4)

    async def three() -> float:
        started = time.perf_counter()
        for _ in range(3):
            await budget.acquire()
        return time.perf_counter() - started

    assert asyncio.run(three()) >= 0.35
