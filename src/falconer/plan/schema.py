"""Plans as validated data (pydantic), round-tripping through JSON and YAML.

Validation errors say what is wrong and where: an unknown step, a span step inside the
filter, duplicate ids, an empty plan, a field pointing nowhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from falconer.core.errors import InputError
from falconer.core.spans import SpanType
from falconer.core.tasks import Kind
from falconer.plan.expressions import Expression, PlanSyntaxError, parse_expression, references

Op = Literal["get_label", "get_span"]
KIND_OF_OP: dict[str, Kind] = {"get_label": "label", "get_span": "span"}
_ID = r"^[A-Za-z_][A-Za-z0-9_\-]*$"


# an instruction says what to mine in a sentence or a few; the planner's request holds the
# user's, and each step's goes into every annotation and proxy window
MAX_INSTRUCTION_CHARS = 2000


class PlanValidationError(InputError):
    """A plan that cannot be run; the message lists every problem found, with its place."""


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=_ID, max_length=64)
    op: Op
    instruction: str = Field(min_length=1, max_length=MAX_INSTRUCTION_CHARS)
    # get_span only: the kind of name every span must be (set by the user; the annotator then
    # drops extracted strings of another type, conll-persons exact F1 0.448 -> 0.693).
    span_type: SpanType | None = None

    @model_validator(mode="after")
    def _type_only_on_spans(self) -> Step:
        if self.span_type is not None and self.op != "get_span":
            raise ValueError("span_type is for get_span steps only")
        return self

    @field_validator("instruction")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("instruction is blank")
        return value.strip()

    @property
    def kind(self) -> Kind:
        return KIND_OF_OP[self.op]


class Plan(BaseModel):
    """Steps, an optional document filter over label steps, and the output fields (a plan
    with a filter and no fields outputs the documents that pass)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[Step] = Field(min_length=1, max_length=32)
    filter: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        problems: list[str] = []
        ids = [step.id for step in self.steps]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            problems.append(f"duplicate step ids: {', '.join(duplicates)}")
        if not self.fields and self.filter is None:
            problems.append("plan outputs nothing: give fields, a filter, or both")
        asking: dict[str, list[Step]] = {}
        for step in self.steps:
            asking.setdefault(step.instruction, []).append(step)
        # the primitives are called, and the proxy trained, by instruction
        for instruction, steps in asking.items():
            if len({step.span_type for step in steps}) > 1:
                problems.append(f"steps asking {instruction!r} require different span types")
            if len({step.op for step in steps}) > 1:
                problems.append(
                    f"steps asking {instruction!r} are both get_label and get_span: word them "
                    "apart (a yes/no question, and what to extract)"
                )
        by_id = {step.id: step for step in self.steps}
        for name, step_id in self.fields.items():
            if step_id not in by_id:
                problems.append(f"field {name!r} refers to unknown step {step_id!r}")
        if self.filter is not None:
            problems += _filter_problems(self.filter, by_id)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def span_types(self) -> dict[str, str]:
        """The span type each typed get_span step requires, by its instruction (what the
        primitives are called with)."""
        return {step.instruction: step.span_type for step in self.steps if step.span_type}

    def with_span_type(self, span_type: str) -> Plan:
        """The plan with every get_span step that names no type requiring `span_type`."""
        neutral = self.to_neutral()
        for step in neutral["steps"]:
            if step["op"] == "get_span":
                step.setdefault("span_type", span_type)
        return Plan.parse(neutral)

    @property
    def filter_expression(self) -> Expression | None:
        return None if self.filter is None else parse_expression(self.filter)

    @classmethod
    def parse(cls, data: Any) -> Plan:
        """Validate plain data (e.g. parsed JSON) into a plan, or raise PlanValidationError."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise PlanValidationError(_describe(error)) from None

    @classmethod
    def from_json(cls, text: str) -> Plan:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise PlanValidationError(f"plan is not valid JSON: {error}") from None
        return cls.parse(data)

    @classmethod
    def from_yaml(cls, text: str) -> Plan:
        try:
            data = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError) as error:
            raise PlanValidationError(f"plan is not valid YAML: {error}") from None
        return cls.parse(data)

    @classmethod
    def load(cls, path: str | Path) -> Plan:
        """A plan file: JSON or YAML (by suffix; anything else is tried as YAML, which reads
        JSON too)."""
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PlanValidationError(f"cannot read plan {source}: {error}") from None
        try:
            return cls.from_json(text) if source.suffix == ".json" else cls.from_yaml(text)
        except PlanValidationError as error:
            raise PlanValidationError(f"{source}: {error}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_neutral(), indent=2, ensure_ascii=False)

    def to_yaml(self) -> str:
        return str(yaml.safe_dump(self.to_neutral(), sort_keys=False, allow_unicode=True))

    def to_neutral(self) -> dict[str, Any]:
        """The benchmark's neutral form: {"steps": [{id, op, instruction}], "filter", "fields"};
        a step's span_type appears only where it is set."""
        neutral = self.model_dump()
        for step in neutral["steps"]:
            if step["span_type"] is None:
                del step["span_type"]
        return neutral


def _filter_problems(source: str, by_id: dict[str, Step]) -> list[str]:
    try:
        expression = parse_expression(source)
    except PlanSyntaxError as error:
        return [str(error)]
    problems = []
    for step_id in sorted(references(expression)):
        step = by_id.get(step_id)
        if step is None:
            problems.append(f"filter refers to unknown step {step_id!r}")
        elif step.op != "get_label":
            problems.append(f"filter uses span step {step_id!r}; only get_label steps can filter")
    return problems


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "plan"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{where}: {message}")
    return "invalid plan: " + "; ".join(lines)
