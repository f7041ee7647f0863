from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from falconer.core.errors import InputError
from falconer.llm.base import ChatRequest, Message, TokenUsage
from falconer.llm.cache import CachedAnswer, ResponseCache, cache_key
from falconer.llm.loops import LoopLocal
from falconer.llm.openai_compatible import OPENAI_BASE_URL, OpenAICompatibleBackend
from falconer.llm.registry import create_backend
from falconer.llm.structured import (
    InvalidOutputError,
    extract_json,
    option_probabilities,
    parse_yes_no,
    yes_probability,
)
from falconer.llm.usage import PriceTable, UsageMeter


def test_openai_specs_name_url_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    backend = create_backend("openai:gpt-4.1-mini", threads=4)
    assert isinstance(backend, OpenAICompatibleBackend)
    assert (backend.base_url, backend.model) == (OPENAI_BASE_URL, "gpt-4.1-mini")
    local = create_backend("openai-compatible:http://localhost:8000/v1#Qwen2.5-7B-Instruct")
    assert isinstance(local, OpenAICompatibleBackend)
    assert (local.base_url, local.model) == ("http://localhost:8000/v1", "Qwen2.5-7B-Instruct")


@pytest.mark.parametrize(
    "spec", ["", "gpt-4", "openai:", "openai-compatible:localhost#m", "gguf:", "gguf:/no/such.gguf"]
)
def test_bad_specs_are_input_errors_that_say_what_to_type(spec: str) -> None:
    with pytest.raises(InputError):
        create_backend(spec)


def test_openai_without_a_key_says_which_variable_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "FALCONER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InputError, match="openai:gpt-4o needs an API key: set OPENAI_API_KEY"):
        create_backend("openai:gpt-4o")
    assert create_backend("openai:gpt-4o", api_key="sk-given").model == "gpt-4o"
    assert create_backend("openai-compatible:http://localhost:8000/v1#m").model == "m"


def _request(text: str = "hi", **sampling: float) -> ChatRequest:
    return ChatRequest((Message("user", text),), **sampling)  # type: ignore[arg-type]


def test_cache_key_covers_backend_model_template_messages_and_sampling() -> None:
    base = cache_key("b", "m", "v1", _request())
    assert base == cache_key("b", "m", "v1", _request())
    variants = [
        cache_key("b2", "m", "v1", _request()),
        cache_key("b", "m2", "v1", _request()),
        cache_key("b", "m", "v2", _request()),
        cache_key("b", "m", "v1", _request("hello")),
        cache_key("b", "m", "v1", _request(temperature=0.7)),
        cache_key("b", "m", "v1", _request(max_tokens=9)),
    ]
    assert base not in variants and len(set(variants)) == len(variants)


def test_cache_persists_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    first = ResponseCache(path)
    first.put(
        "k",
        backend="b",
        model="m",
        template_version="v",
        answer=CachedAnswer('{"spans": []}', TokenUsage(3, 4), "{}"),
    )
    first.close()
    again = ResponseCache(path).get("k")
    assert again == CachedAnswer('{"spans": []}', TokenUsage(3, 4), "{}")


def test_replies_are_parsed_strictly() -> None:
    assert extract_json('```json\n{"spans": ["a"]}\n```') == {"spans": ["a"]}
    assert extract_json('Sure! {"spans": []} Hope this helps.') == {"spans": []}
    with pytest.raises(InvalidOutputError):
        extract_json('{"spans": ["unterminated')
    assert parse_yes_no("Yes.") is True and parse_yes_no("no") is False
    with pytest.raises(InvalidOutputError):
        parse_yes_no("It depends")
    assert yes_probability({"Yes": -0.1, "No": -2.5, "yes": -3.0}) == pytest.approx(
        0.921, abs=0.002
    )
    assert yes_probability({"The": -0.1}) is None


def test_multiple_choice_shares_come_from_the_tokens_that_begin_each_option() -> None:
    half, quarter = math.log(0.5), math.log(0.25)
    logprobs = {"person": half, " organ": quarter, "o": quarter, "The": quarter}
    shares = option_probabilities(logprobs, ("person", "organization", "other"))
    assert shares == pytest.approx({"person": 2 / 3, "organization": 1 / 3, "other": 0.0})
    assert option_probabilities({"The": -0.1, "x": -1.0}, ("person", "other")) is None


def test_costs_by_tokens_for_api_models_and_cpu_time_for_local_ones(tmp_path: Path) -> None:
    prices_file = tmp_path / "prices.json"
    prices_file.write_text(json.dumps({"my-model": {"input": 1.0, "output": 2.0}, "cpu_hour": 3.6}))
    prices = PriceTable.load(prices_file)
    meter = UsageMeter(prices)
    meter.record_call(
        "annotate",
        model="my-model",
        prompt_tokens=1_000_000,
        completion_tokens=500_000,
        seconds=2.0,
        retries=1,
        cpu_threads=None,
    )
    meter.record_call(
        "plan",
        model="local",
        prompt_tokens=10,
        completion_tokens=10,
        seconds=10.0,
        retries=0,
        cpu_threads=2,
    )
    report = meter.report()
    assert report["annotate"]["cost_usd"] == pytest.approx(2.0)
    assert report["plan"]["cost_usd"] == pytest.approx(20 / 3600 * 3.6)
    assert meter.total().calls == 2 and meter.total().retries == 1
    assert PriceTable().cost("gpt-4.1-mini", 1_000_000, 0, None) == pytest.approx(0.40)


def test_concurrency_gates_serve_every_event_loop_a_backend_lives_through() -> None:
    async def contend(gate: Callable[[], asyncio.Semaphore]) -> None:
        async def hold() -> None:
            async with gate():
                await asyncio.sleep(0)

        await asyncio.gather(hold(), hold(), hold())

    plain = asyncio.Semaphore(1)
    asyncio.run(contend(lambda: plain))
    with pytest.raises(RuntimeError, match="different event loop"):
        asyncio.run(contend(lambda: plain))
    local = LoopLocal(lambda: asyncio.Semaphore(1))
    asyncio.run(contend(local.get))
    asyncio.run(contend(local.get))
