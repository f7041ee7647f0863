"""Running a plan over documents, one batch at a time, doing as little work as the plan allows.

Label steps are evaluated in filter order and short-circuit: in `a and b`, `b` is asked only
about documents `a` kept; in `a or b`, only about those `a` rejected. Output fields (and so
every span step) are computed only for documents the filter keeps. A step is asked at most once
per document, however many fields read it (planners often name one span step twice, as
"features" and "components").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from falconer.core.documents import Document
from falconer.core.results import LabelResult, SpanResult
from falconer.engine.results import KEPT_FIELD, ResultRow
from falconer.plan.expressions import And, Expression, Not, Or, Ref
from falconer.plan.schema import Plan

Answer = TypeVar("Answer", LabelResult, SpanResult)


class Answerer(Protocol):
    """What answers the primitives: the proxy, or the LLM itself."""

    name: str

    def get_label(self, texts: Sequence[str], instruction: str) -> list[LabelResult]: ...

    def get_span(self, texts: Sequence[str], instruction: str) -> list[SpanResult]: ...


@dataclass
class BatchOutcome:
    rows: list[ResultRow]
    kept: int
    asked: dict[str, int] = field(default_factory=dict)  # step id -> documents asked


class PlanExecutor:
    """Answers one plan for batches of documents with one answerer."""

    def __init__(self, plan: Plan, answerer: Answerer) -> None:
        self.plan = plan
        self.answerer = answerer
        self.steps = {step.id: step for step in plan.steps}
        self.filter = plan.filter_expression

    def run(self, docs: Sequence[Document]) -> BatchOutcome:
        batch = _Batch(self, docs)
        everyone = list(range(len(docs)))
        kept = everyone if self.filter is None else sorted(batch.decide(self.filter, everyone))
        rows: list[ResultRow] = []
        for index in kept:
            if self.filter is not None:
                rows.append(batch.kept_row(index))
        for name, step_id in self.plan.fields.items():
            rows += batch.field_rows(name, step_id, kept)
        return BatchOutcome(self._ordered(rows, docs), len(kept), batch.asked)

    def _ordered(self, rows: list[ResultRow], docs: Sequence[Document]) -> list[ResultRow]:
        """Rows in document order, then field order of the plan, then text order."""
        position = {doc.id: index for index, doc in enumerate(docs)}
        rank = {name: index for index, name in enumerate([KEPT_FIELD, *self.plan.fields])}
        return sorted(rows, key=lambda r: (position[r.doc_id], rank[r.field], r.start or 0))


class _Batch:
    """Answers for one batch, each step asked at most once per document."""

    def __init__(self, executor: PlanExecutor, docs: Sequence[Document]) -> None:
        self.executor = executor
        self.docs = docs
        self.labels: dict[str, dict[int, LabelResult]] = {}
        self.spans: dict[str, dict[int, SpanResult]] = {}
        self.asked: dict[str, int] = {}

    def label(self, step_id: str, indices: Sequence[int]) -> dict[int, LabelResult]:
        return self._ask(self.labels, step_id, indices, self.executor.answerer.get_label)

    def span(self, step_id: str, indices: Sequence[int]) -> dict[int, SpanResult]:
        return self._ask(self.spans, step_id, indices, self.executor.answerer.get_span)

    def _ask(
        self,
        answered: dict[str, dict[int, Answer]],
        step_id: str,
        indices: Sequence[int],
        ask: Callable[[Sequence[str], str], list[Answer]],
    ) -> dict[int, Answer]:
        """The step's answers for `indices`, asking only about documents not yet answered."""
        known = answered.setdefault(step_id, {})
        missing = [i for i in indices if i not in known]
        if missing:
            texts = [self.docs[i].text for i in missing]
            answers = ask(texts, self.executor.steps[step_id].instruction)
            known.update(zip(missing, answers, strict=True))
            self.asked[step_id] = self.asked.get(step_id, 0) + len(missing)
        return known

    def decide(self, expression: Expression, indices: list[int]) -> set[int]:
        """Documents (of `indices`) for which the filter holds, asking as few as possible."""
        if not indices:
            return set()
        match expression:
            case Ref(step_id):
                answers = self.label(step_id, indices)
                return {i for i in indices if answers[i].value}
            case Not(operand):
                return set(indices) - self.decide(operand, indices)
            case And(left, right):
                passed = self.decide(left, indices)
                return self.decide(right, [i for i in indices if i in passed])
            case Or(left, right):
                passed = self.decide(left, indices)
                return passed | self.decide(right, [i for i in indices if i not in passed])
        raise TypeError(expression)  # pragma: no cover - exhaustive

    def kept_row(self, index: int) -> ResultRow:
        """The filter's verdict; its confidence is that of the least sure answer it read."""
        read = [answers[index] for answers in self.labels.values() if index in answers]
        sources = {answer.source for answer in read if answer.source}
        return ResultRow(
            self.docs[index].id,
            KEPT_FIELD,
            "document",
            None,
            None,
            None,
            True,
            round(min((answer.confidence for answer in read), default=1.0), 6),
            "+".join(sorted(sources)) or self.executor.answerer.name,
        )

    def field_rows(self, name: str, step_id: str, kept: list[int]) -> list[ResultRow]:
        step = self.executor.steps[step_id]
        model = self.executor.answerer.name
        if step.op == "get_label":
            answers = self.label(step_id, kept)
            return [
                ResultRow(
                    self.docs[i].id,
                    name,
                    "label",
                    None,
                    None,
                    None,
                    answers[i].value,
                    round(answers[i].confidence, 6),
                    answers[i].source or model,
                )
                for i in kept
            ]
        spans = self.span(step_id, kept)
        return [
            ResultRow(
                self.docs[i].id,
                name,
                "span",
                s.start,
                s.end,
                s.text,
                None,
                round(s.confidence, 6),
                spans[i].source or model,
            )
            for i in kept
            for s in spans[i].spans
        ]
