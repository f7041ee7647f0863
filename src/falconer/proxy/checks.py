"""The proxy's answers to one instruction held against expected answers (an LLM's
annotations, or gold): read once, and per document its confidence and whether its whole
answer matched (the same decision; the same set of spans), beside the usual scores. Run
reports, the cascade, active annotation and the benchmarks all read the same check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from falconer.core.metrics import (
    LabelScores,
    SpanScores,
    calibration_error,
    score_labels,
    score_spans,
)
from falconer.core.spans import same_spans
from falconer.core.tasks import Example
from falconer.proxy.proxy import Proxy


@dataclass(frozen=True, slots=True)
class AnswerCheck:
    confidences: list[float]
    matches: list[bool]
    scores: LabelScores | SpanScores  # label scores for a label instruction, else span scores

    @property
    def calibration_error(self) -> float:
        return calibration_error(self.confidences, self.matches)

    def score(self, label_metric: str = "accuracy") -> float:
        """The headline figure: `label_metric` ("accuracy", else F1 of `true`) for a label
        instruction, exact span F1 for a span instruction."""
        if isinstance(self.scores, LabelScores) and label_metric == "accuracy":
            return self.scores.accuracy
        return self.scores.f1


def confidences(proxy: Proxy, instruction: str, kind: str, texts: Sequence[str]) -> list[float]:
    """How sure the proxy is of its answer to each text."""
    if kind == "label":
        return [r.confidence for r in proxy.get_label(texts, instruction)]
    return [r.confidence for r in proxy.get_span(texts, instruction)]


def check_answers(
    proxy: Proxy, instruction: str, kind: str, expected: Sequence[Example]
) -> AnswerCheck:
    texts = [e.text for e in expected]
    if kind == "label":
        labels = proxy.get_label(texts, instruction)
        wanted = [bool(e.label) for e in expected]
        return AnswerCheck(
            [r.confidence for r in labels],
            [r.value == w for r, w in zip(labels, wanted, strict=True)],
            score_labels([r.value for r in labels], wanted),
        )
    results = proxy.get_span(texts, instruction)
    wanted_spans = [e.spans or () for e in expected]
    return AnswerCheck(
        [r.confidence for r in results],
        [same_spans(r.spans, w) for r, w in zip(results, wanted_spans, strict=True)],
        score_spans([r.spans for r in results], wanted_spans),
    )


def beats_constant_answers(
    proxy: Proxy, instruction: str, kind: str, expected: Sequence[Example]
) -> bool:
    """Whether the proxy does better on `expected` than answering the same every time (yes
    to all, no to all, no span anywhere), by the mean of accuracy and F1 its training selects
    on (exact F1 for spans). A fit can collapse: MPNet trained on 225 soft sst2 answers at
    2e-4 gave every review P(yes) 0.50001 (sst2 in the 2026-12-04 suite run) and taught the
    MiniLM yes for all 572 others. Expected answers all alike leave nothing to judge: true."""
    check = check_answers(proxy, instruction, kind, expected)
    if isinstance(check.scores, LabelScores):
        wanted = [bool(e.label) for e in expected]
        if len(set(wanted)) < 2:
            return True
        constants = [score_labels([answer] * len(wanted), wanted) for answer in (True, False)]
        return check.scores.accuracy_and_f1 > max(c.accuracy_and_f1 for c in constants)
    if not any(e.spans for e in expected):
        return True
    return check.scores.f1 > 0.0
