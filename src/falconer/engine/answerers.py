"""The LLM as an answerer of plan steps: the LLM-only baseline, and the fallback of a cascade.

It asks exactly what the annotator asks (same prompts, same cache), so LLM-only results and
the annotations a proxy learns from are the same function of the same text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from falconer.annotator.annotator import Annotator
from falconer.annotator.records import AnnotationRun
from falconer.core.documents import Document
from falconer.core.results import LabelResult, SpanResult
from falconer.core.tasks import Kind

UNSURE = 0.5  # P(true) given to a document whose LLM call failed: no evidence either way


class LLMAnswerer:
    """Answers with one LLM call per document and step; failed calls are counted, not fatal."""

    name = "llm"

    def __init__(self, annotator: Annotator, span_types: Mapping[str, str] | None = None) -> None:
        """`span_types`: the span type a plan requires, by step instruction (`Plan.span_types`)."""
        self.annotator = annotator
        self.span_types = dict(span_types or {})
        self.failures: list[str] = []

    def get_label(self, texts: Sequence[str], instruction: str) -> list[LabelResult]:
        run = self._ask(texts, instruction, "label")
        answers = {a.doc_id: a for a in run.annotations}
        results = []
        for index in range(len(texts)):
            answer = answers.get(str(index))
            if answer is None or answer.label is None:
                results.append(LabelResult(False, UNSURE))
            else:
                probability = answer.probability if answer.probability is not None else 1.0
                results.append(LabelResult(answer.label, probability))
        return results

    def get_span(self, texts: Sequence[str], instruction: str) -> list[SpanResult]:
        run = self._ask(texts, instruction, "span")
        answers = {a.doc_id: a for a in run.annotations}
        return [
            SpanResult(tuple(answers[str(i)].spans or ()) if str(i) in answers else ())
            for i in range(len(texts))
        ]

    def _ask(self, texts: Sequence[str], instruction: str, kind: Kind) -> AnnotationRun:
        docs = [Document(str(index), text) for index, text in enumerate(texts)]
        span_type = self.span_types.get(instruction) if kind == "span" else None
        run = asyncio.run(self.annotator.annotate(instruction, kind, docs, span_type=span_type))
        self.failures += [f"{instruction}: {failure.reason}" for failure in run.failures]
        return run
