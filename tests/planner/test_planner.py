"""The planner with the embedded LLM, and its second chance when examples lead it astray."""

from __future__ import annotations

import pytest

from falconer.core.errors import InputError
from falconer.llm.base import ChatRequest, ChatResponse, LLMBackend, LLMError, TokenUsage
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend
from falconer.plan.schema import Plan
from falconer.planner import Planner
from falconer.planner.planner import (
    asks_for_text,
    drop_filters_implied_by_spans,
    filter_for_search_requests,
    single_extraction_plan,
)

pytestmark = pytest.mark.slow
INSTRUCTION = "In reviews that criticize the laptop, extract every feature or component mentioned."


class BrokenWithExamples(LLMBackend):
    """Fault injection: the embedded LLM, except that a prompt showing corpus examples gets a
    plan whose field points at a step that does not exist (what the 0.5B model once did)."""

    backend = "embedded-with-faults"

    def __init__(self, inner: LLMBackend) -> None:
        self.inner = inner
        self.model = inner.model
        self.faults = 0

    async def chat(self, request: ChatRequest) -> ChatResponse:
        if any("Example documents" in m.content for m in request.messages):
            self.faults += 1
            broken = '{"steps": [{"id": "s1", "op": "get_label", "instruction": "Bad?"}],'
            return ChatResponse(
                broken + ' "filter": "s1", "fields": {"x": "s2"}}', TokenUsage(), 0.0
            )
        return await self.inner.chat(request)


def test_a_plan_that_stays_invalid_with_examples_is_asked_again_without_them() -> None:
    backend = BrokenWithExamples(create_backend("embedded", threads=2))
    planner = Planner(LLMClient(backend))
    result = planner.plan_sync(INSTRUCTION, ["The screen died after a week.", "Great keys."])
    assert backend.faults == 2  # the first answer and its repair
    assert [step.op for step in result.plan.steps] == ["get_label", "get_span"]
    assert result.plan.filter == "s1"


def test_an_instruction_longer_than_a_plan_step_holds_is_refused_before_the_llm_loads() -> None:
    client = LLMClient(create_backend("embedded", threads=2))
    pasted = "Extract the prices. " * 120  # a document pasted where the instruction goes
    with pytest.raises(InputError, match=r"instruction is 2,400 characters; .* at most 2,000"):
        Planner(client).plan_sync(pasted)
    assert client.meter.total().calls == 0


class AlwaysBroken(LLMBackend):
    """Fault injection: every reply is a plan whose field points at a missing step."""

    backend = "always-broken"
    model = "none"

    async def chat(self, request: ChatRequest) -> ChatResponse:
        broken = '{"steps": [{"id": "s1", "op": "get_label", "instruction": "Bad?"}],'
        return ChatResponse(broken + ' "fields": {"x": "s2"}}', TokenUsage(), 0.0)


def test_a_request_for_documents_that_never_gets_a_valid_plan_says_so() -> None:
    planner = Planner(LLMClient(AlwaysBroken()))
    with pytest.raises(LLMError, match=r"^no valid plan: invalid output after one repair"):
        planner.plan_sync("Find the movie reviews that are negative.", ["A dull film."])


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Extract the names of people.", True),
        ("List the laptop features that reviewers complain about.", True),
        ("Which tweets complain about delays? Extract the airline names from them.", True),
        ("Pull out every email address from the messages.", True),
        ("Find the movie reviews that are negative.", False),
        ("Classify each review as positive or negative.", False),
    ],
)
def test_requests_for_text_are_told_apart_from_requests_for_documents(
    instruction: str, expected: bool
) -> None:
    assert asks_for_text(instruction) is expected


def test_a_search_request_turns_its_label_field_into_the_filter() -> None:
    plan = Plan.parse(
        {
            "steps": [{"id": "s1", "op": "get_label", "instruction": "Is the result negative?"}],
            "fields": {"negative": "s1"},
        }
    )
    searched = filter_for_search_requests(plan, "Find abstracts that report a negative result.")
    assert searched.filter == "s1"
    classified = filter_for_search_requests(plan, "Classify each abstract as negative or not.")
    assert classified.filter is None


def test_only_a_request_for_text_gets_the_one_step_fallback_plan() -> None:
    plan = single_extraction_plan("Extract the names of people.")
    assert plan is not None and [(s.op, s.instruction) for s in plan.steps] == [
        ("get_span", "Extract the names of people.")
    ]
    assert single_extraction_plan("Find the negative reviews.") is None


@pytest.mark.parametrize(
    ("label", "span", "kept"),
    [
        ("Is this reviewer talking about laptop features?", "Extract the laptop features.", False),
        ("Does the text mention any prices?", "Extract the prices and the currencies.", False),
        ("Does the article mention drugs?", "List every drug named in the article.", False),
        # a topic, a condition or another thing than what is extracted: a real filter
        ("Is this news article about sports?", "Extract the sports teams mentioned.", True),
        ("Is this news article about earthquakes?", "Extract the locations of earthquakes.", True),
        ("Does this contract contain a non-compete clause?", "Extract its duration.", True),
        ("Does the review mention the service?", "Extract what it says about the staff.", True),
        ("Is this review positive?", "Extract the laptop prices.", True),
    ],
)
def test_a_filter_that_asks_only_whether_the_extracted_things_are_mentioned_is_dropped(
    label: str, span: str, kept: bool
) -> None:
    steps = [
        {"id": "s1", "op": "get_label", "instruction": label},
        {"id": "s2", "op": "get_span", "instruction": span},
    ]
    plan = Plan.parse({"steps": steps, "filter": "s1", "fields": {"found": "s2"}})
    checked = drop_filters_implied_by_spans(plan)
    assert (checked == plan) is kept
    if not kept:
        assert checked.filter is None and [s.id for s in checked.steps] == ["s2"]


def test_the_planner_is_never_offered_span_types_which_only_a_user_adds() -> None:
    schema = Planner(LLMClient(AlwaysBroken())).request(INSTRUCTION).schema
    assert schema is not None
    assert set(schema["$defs"]["Step"]["properties"]) == {"id", "op", "instruction"}
    assert "span_type" in Plan.model_json_schema()["$defs"]["Step"]["properties"]
