"""Instruction (+ a few corpus examples, optional field hints) -> a validated `Plan`.

The LLM is asked once, with a few-shot prompt and the plan's JSON schema as constrained
output; the reply is validated with the plan schema, and an invalid one is shown back to
the model once with what was wrong (the client's repair round). The plan is data: it is
parsed and validated, never executed.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from falconer.core.errors import InputError
from falconer.llm.base import ChatRequest, ChatResponse, LLMError, Message
from falconer.llm.client import LLMClient
from falconer.llm.structured import InvalidOutputError, extract_json
from falconer.plan.expressions import evaluate
from falconer.plan.schema import Plan, PlanValidationError

TEMPLATE = "plan_v1"
MAX_EXAMPLE_CHARS = 300


@dataclass(frozen=True, slots=True)
class PlanResult:
    plan: Plan
    prompt_version: str
    usage: dict[str, Any]


def _resource(name: str) -> str:
    return (resources.files("falconer.planner") / "prompts" / name).read_text(encoding="utf-8")


def _parse_plan(response: ChatResponse) -> Plan:
    try:
        plan = use_dangling_labels_as_filter(Plan.parse(extract_json(response.text)))
        return drop_constant_fields(plan)
    except (PlanValidationError, ValueError) as error:
        raise InvalidOutputError(str(error)) from None


def drop_constant_fields(plan: Plan) -> Plan:
    """A label field that the filter already fixes (every output document has the same
    answer) carries no information: "find the negative reviews" outputs the documents."""
    expression = plan.filter_expression
    if expression is None:
        return plan
    labels = [s.id for s in plan.steps if s.op == "get_label"]
    passing = [
        dict(zip(labels, values, strict=True))
        for values in itertools.product([False, True], repeat=len(labels))
        if evaluate(expression, dict(zip(labels, values, strict=True)))
    ]
    fields = {
        name: step
        for name, step in plan.fields.items()
        if step not in labels or len({row[step] for row in passing}) > 1
    }
    return plan if fields == plan.fields else Plan.parse({**plan.to_neutral(), "fields": fields})


def use_dangling_labels_as_filter(plan: Plan) -> Plan:
    """A yes/no step whose answer is neither output nor filtered on would be computed for
    nothing; the one meaning it can have is a condition on the documents, which small planner
    models often state as a step and then forget to put in the filter."""
    if plan.filter is not None:
        return plan
    used = set(plan.fields.values())
    dangling = [s.id for s in plan.steps if s.op == "get_label" and s.id not in used]
    if not dangling:
        return plan
    return Plan.parse({**plan.to_neutral(), "filter": " and ".join(dangling)})


class Planner:
    def __init__(self, client: LLMClient, max_tokens: int = 400) -> None:
        self.client = client
        self.max_tokens = max_tokens
        self.system = _resource(f"{TEMPLATE}.txt")
        self.shots = [
            json.loads(line)
            for line in _resource(f"{TEMPLATE}_examples.jsonl").splitlines()
            if line.strip()
        ]
        digest = hashlib.sha256((self.system + json.dumps(self.shots)).encode()).hexdigest()
        self.prompt_version = f"{TEMPLATE}-{digest[:12]}"

    def request(
        self, instruction: str, examples: Sequence[str] = (), fields: Sequence[str] = ()
    ) -> ChatRequest:
        turns = [Message("system", self.system)]
        for shot in self.shots:
            turns.append(Message("user", _user_turn(shot["instruction"], (), ())))
            turns.append(Message("assistant", json.dumps(shot["plan"])))
        turns.append(Message("user", _user_turn(instruction, examples, fields)))
        return ChatRequest(
            tuple(turns),
            schema=Plan.model_json_schema(),
            schema_name="plan",
            max_tokens=self.max_tokens,
        )

    async def plan(
        self, instruction: str, examples: Sequence[str] = (), fields: Sequence[str] = ()
    ) -> PlanResult:
        """Plan with the corpus examples; if no valid plan comes back even after the repair
        round, ask once more without them: small models sometimes copy from the examples
        instead of following the request."""
        if not instruction.strip():
            raise InputError("instruction is empty")
        try:
            plan = await self._ask(instruction, examples, fields)
        except LLMError:
            if not examples:
                raise
            plan = await self._ask(instruction, (), fields)
        return PlanResult(plan, self.prompt_version, self.client.meter.report())

    async def _ask(self, instruction: str, examples: Sequence[str], fields: Sequence[str]) -> Plan:
        answer = await self.client.ask(
            self.request(instruction, examples, fields),
            _parse_plan,
            template_version=self.prompt_version,
            stage="plan",
        )
        return answer.value

    def plan_sync(
        self, instruction: str, examples: Sequence[str] = (), fields: Sequence[str] = ()
    ) -> PlanResult:
        return asyncio.run(self.plan(instruction, examples, fields))


def _user_turn(instruction: str, examples: Sequence[str], fields: Sequence[str]) -> str:
    parts = [f"Request: {instruction.strip()}"]
    if examples:
        shown = "\n".join(f"- {e[:MAX_EXAMPLE_CHARS]}" for e in examples[:3])
        parts.append(f"Example documents (data only):\n{shown}")
    if fields:
        parts.append(f"Output fields wanted: {', '.join(fields)}")
    parts.append("Plan (JSON):")
    return "\n\n".join(parts)
