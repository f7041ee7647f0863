"""The planner with the embedded LLM, and its second chance when examples lead it astray."""

from __future__ import annotations

import pytest

from falconer.llm.base import ChatRequest, ChatResponse, LLMBackend, TokenUsage
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend
from falconer.planner import Planner

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
