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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from falconer.core.errors import InputError
from falconer.llm.base import (
    BackendUnavailableError,
    ChatRequest,
    ChatResponse,
    InvalidAnswerError,
    LLMError,
    Message,
)
from falconer.llm.client import LLMClient
from falconer.llm.structured import InvalidOutputError, extract_json
from falconer.plan.expressions import evaluate
from falconer.plan.schema import MAX_INSTRUCTION_CHARS, Plan, PlanValidationError, Step

TEMPLATE = "plan_v1"
MAX_EXAMPLE_CHARS = 300


@dataclass(frozen=True, slots=True)
class PlanResult:
    plan: Plan
    prompt_version: str
    usage: dict[str, Any]
    note: str | None = None  # set when the plan is a fallback the user should review


def planner_schema() -> dict[str, Any]:
    """The plan schema that constrains the planner's reply, without span types: the 0.5B
    model cannot tell from an instruction which type of name it asks for ("Extract the names
    of people." -> "people"), so the type is the user's to add to a plan."""
    schema = Plan.model_json_schema()
    schema["$defs"]["Step"]["properties"].pop("span_type")
    return schema


def _resource(name: str) -> str:
    return (resources.files("falconer.planner") / "prompts" / name).read_text(encoding="utf-8")


def _plan_parser(instruction: str) -> Callable[[ChatResponse], Plan]:
    """Validate a reply into a plan that can answer `instruction`; what fails is shown back
    to the model in the client's repair round."""

    def parse(response: ChatResponse) -> Plan:
        try:
            plan = use_dangling_labels_as_filter(Plan.parse(extract_json(response.text)))
            plan = drop_constant_fields(filter_for_search_requests(plan, instruction))
            plan = drop_filters_implied_by_spans(plan)
        except (PlanValidationError, ValueError) as error:
            raise InvalidOutputError(str(error)) from None
        if asks_for_text(instruction) and not any(s.op == "get_span" for s in plan.steps):
            raise InvalidOutputError(
                "the request asks for text to be copied out of the documents, but the plan "
                "has no get_span step: add one (its instruction starts with 'Extract') and "
                "output it as a field"
            )
        return plan

    return parse


_COPY_OUT = re.compile(r"\b(extract|list|pull out|copy out)\b|^\s*(get|identify) the\b", re.I)
_SEARCH = re.compile(r"^\s*(find|which|show me|select)\b", re.I)


def asks_for_text(instruction: str) -> bool:
    """Whether the request wants parts of the text (names, prices, ...) as output."""
    return bool(_COPY_OUT.search(instruction))


def filter_for_search_requests(plan: Plan, instruction: str) -> Plan:
    """ "Find the abstracts that report X" selects documents: a yes/no step the model put
    among the fields, with no filter, is the filter the request describes."""
    if plan.filter is not None or not _SEARCH.match(instruction) or asks_for_text(instruction):
        return plan
    labels = [s.id for s in plan.steps if s.op == "get_label" and s.id in plan.fields.values()]
    if not labels:
        return plan
    return Plan.parse({**plan.to_neutral(), "filter": " and ".join(labels)})


def single_extraction_plan(instruction: str) -> Plan | None:
    """The last resort for a request for text when the model cannot write a valid plan: one
    get_span step with the request itself as its instruction (right for "Extract X.", a
    starting point to edit for requests with conditions). None for other requests."""
    if not asks_for_text(instruction):
        return None
    step = {"id": "s1", "op": "get_span", "instruction": instruction.strip()}
    return Plan.parse({"steps": [step], "fields": {"spans": "s1"}})


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


_MENTION = re.compile(
    r"\b(?:talk(?:s|ing)?\s+about|mention(?:s|ing)?|discuss(?:es|ing)?|contain(?:s|ing)?|"
    r"refer(?:s|ring)?\s+to|about)\s+(?P<object>[^?.]+)",
    re.I,
)
_EXTRACTION = re.compile(r"^\s*(?:extract|list|pull\s+out|get|identify)\s+(?P<object>[^?.]+)", re.I)
# where the name of what is extracted ends: "the locations | of earthquakes"
_OBJECT_END = re.compile(
    r"\s+(?:of|from|in|on|at|that|which|who|whom|where|when|mentioned|reported|said|"
    r"given|named|discussed)\b.*$",
    re.I,
)
_FILLER = frozenset({"a", "an", "the", "any", "all", "every", "each", "some", "and", "or", "its"})


def _noun_phrases(phrase: str) -> list[tuple[str, ...]]:
    """Coordinated phrases as word tuples, plural -s stripped: "laptop features and
    components" -> [("laptop", "feature"), ("component",)]; the last word is the head."""
    phrases = []
    for part in re.split(r",|\band\b|\bor\b", phrase.lower()):
        words = [w for w in re.findall(r"[a-z0-9][a-z0-9'\-]*", part) if w not in _FILLER]
        if words:
            phrases.append(tuple(w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words))
    return phrases


def _mentioned(label_instruction: str) -> list[tuple[str, ...]]:
    match = _MENTION.search(label_instruction)
    return _noun_phrases(match["object"]) if match else []


def _extracted(span_instruction: str) -> list[tuple[str, ...]]:
    match = _EXTRACTION.match(span_instruction)
    return _noun_phrases(_OBJECT_END.sub("", match["object"])) if match else []


def _names_what_is_extracted(label: Step, span: Step) -> bool:
    """Whether every thing the yes/no step asks about is one the span step extracts: same
    head noun, and no word the extraction does not have ("sports" before "sports teams"
    is a topic, not the teams)."""
    extracted = _extracted(span.instruction)
    words = {w for phrase in extracted for w in phrase}
    heads = {phrase[-1] for phrase in extracted}
    mentioned = _mentioned(label.instruction)
    return bool(mentioned) and all(p[-1] in heads and set(p) <= words for p in mentioned)


def drop_filters_implied_by_spans(plan: Plan) -> Plan:
    """A filter that only asks whether the text mentions the very things a span step extracts
    ("Is the reviewer talking about laptop features?" before "Extract the laptop features and
    components.") selects nothing the extraction would not: a text without them yields no
    spans. Small planners add it unasked, and it costs recall, since a yes/no over the whole
    text is less sure than the spans themselves. Only a filter that is that one step goes."""
    steps = {s.id: s for s in plan.steps}
    label = steps.get(plan.filter or "")
    if label is None or label.op != "get_label" or label.id in plan.fields.values():
        return plan
    spans = [steps[i] for i in set(plan.fields.values()) if steps[i].op == "get_span"]
    if not any(_names_what_is_extracted(label, span) for span in spans):
        return plan
    neutral = plan.to_neutral()
    neutral["steps"] = [s for s in neutral["steps"] if s["id"] != label.id]
    return Plan.parse({**neutral, "filter": None})


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
            schema=planner_schema(),
            schema_name="plan",
            max_tokens=self.max_tokens,
        )

    async def plan(
        self, instruction: str, examples: Sequence[str] = (), fields: Sequence[str] = ()
    ) -> PlanResult:
        """Plan with the corpus examples; if no valid plan comes back even after the repair
        round, ask once more without them: small models sometimes copy from the examples
        instead of following the request. A request for text that still gets none falls back
        to one get_span step. A backend that fails (unreachable, refusing) ends planning
        instead: it would not annotate a fallback plan either."""
        if not instruction.strip():
            raise InputError("instruction is empty")
        if len(instruction) > MAX_INSTRUCTION_CHARS:
            raise InputError(
                f"instruction is {len(instruction):,} characters; say what to mine in at most "
                f"{MAX_INSTRUCTION_CHARS:,}"
            )
        try:
            plan = await self._valid_plan(instruction, examples, fields)
        except InvalidAnswerError as error:
            fallback = single_extraction_plan(instruction)
            if fallback is None:
                raise InvalidAnswerError(f"no valid plan: {error}") from error
            note = f"the LLM gave no valid plan ({error}); using one get_span step: review it"
            return PlanResult(fallback, self.prompt_version, self.client.meter.report(), note)
        except LLMError as error:
            backend = self.client.backend.describe()
            raise LLMError(f"cannot plan: {backend} failed: {error}") from error
        return PlanResult(plan, self.prompt_version, self.client.meter.report())

    async def _valid_plan(
        self, instruction: str, examples: Sequence[str], fields: Sequence[str]
    ) -> Plan:
        try:
            return await self._ask(instruction, examples, fields)
        except BackendUnavailableError:
            raise
        except LLMError:  # an invalid answer, or a request the examples made too long
            if not examples:
                raise
        return await self._ask(instruction, (), fields)

    async def _ask(self, instruction: str, examples: Sequence[str], fields: Sequence[str]) -> Plan:
        answer = await self.client.ask(
            self.request(instruction, examples, fields),
            _plan_parser(instruction),
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
