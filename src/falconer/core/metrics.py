"""Scores of labels and spans against gold, as defined by the benchmark's README.

Kept in core because training (model selection on held-out annotations), the benchmarks and
run reports must all score the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from falconer.core.spans import Span, same_spans


@dataclass(frozen=True, slots=True)
class LabelScores:
    accuracy: float
    precision: float
    recall: float
    f1: float
    n: int

    @property
    def accuracy_and_f1(self) -> float:
        """Their mean: what a fit selects checkpoints by, so a one-answer proxy scores low
        whichever answer is rare."""
        return (self.accuracy + self.f1) / 2

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SpanScores:
    precision: float
    recall: float
    f1: float
    lenient_precision: float
    lenient_recall: float
    lenient_f1: float
    n_predicted: int
    n_gold: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def score_labels(predicted: Sequence[bool], gold: Sequence[bool]) -> LabelScores:
    """Accuracy, and precision/recall/F1 of the `true` class."""
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold differ in length")
    true_positives = sum(p and g for p, g in zip(predicted, gold, strict=True))
    correct = sum(p == g for p, g in zip(predicted, gold, strict=True))
    precision = _ratio(true_positives, sum(predicted))
    recall = _ratio(true_positives, sum(gold))
    return LabelScores(
        accuracy=_ratio(correct, len(gold)),
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        n=len(gold),
    )


def _normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def _lenient_hits(predicted: Sequence[Span], gold: Sequence[Span]) -> tuple[int, int]:
    """Predictions that overlap an equal-text gold span, and gold spans so matched."""

    def same(p: Span, g: Span) -> bool:
        return p.overlaps(g) and _normalised(p.text) == _normalised(g.text)

    hit_predictions = sum(any(same(p, g) for g in gold) for p in predicted)
    hit_gold = sum(any(same(p, g) for p in predicted) for g in gold)
    return hit_predictions, hit_gold


def score_spans(predicted: Sequence[Sequence[Span]], gold: Sequence[Sequence[Span]]) -> SpanScores:
    """Micro P/R/F1 over exact (doc, start, end) matches, plus the lenient variant."""
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold differ in length")
    n_predicted = n_gold = exact = lenient_p = lenient_g = 0
    for doc_predicted, doc_gold in zip(predicted, gold, strict=True):
        predicted_keys = {s.key for s in doc_predicted}
        gold_keys = {s.key for s in doc_gold}
        n_predicted += len(predicted_keys)
        n_gold += len(gold_keys)
        exact += len(predicted_keys & gold_keys)
        hits_p, hits_g = _lenient_hits(list(doc_predicted), list(doc_gold))
        lenient_p += hits_p
        lenient_g += hits_g
    precision, recall = _ratio(exact, n_predicted), _ratio(exact, n_gold)
    lenient_precision = _ratio(lenient_p, sum(len(d) for d in predicted))
    lenient_recall = _ratio(lenient_g, n_gold)
    return SpanScores(
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        lenient_precision=lenient_precision,
        lenient_recall=lenient_recall,
        lenient_f1=_f1(lenient_precision, lenient_recall),
        n_predicted=n_predicted,
        n_gold=n_gold,
    )


def same_answer_share(
    kind: str, reference: Sequence[bool | Sequence[Span]], answers: Sequence[bool | Sequence[Span]]
) -> float:
    """Share of documents answered the same way by two models: the decision for labels, the
    span set for spans (how a faster runtime is checked against PyTorch fp32)."""
    same = sum(
        a == b if kind == "label" else same_spans(a, b)  # type: ignore[arg-type]
        for a, b in zip(reference, answers, strict=True)
    )
    return float(same) / max(len(reference), 1)


def calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """Expected calibration error: over equal-width confidence bins, the gap between how sure
    the answers were and how often they were right, weighted by the share of answers."""
    if len(confidences) != len(correct):
        raise ValueError("confidences and outcomes differ in length")
    if not confidences:
        return 0.0
    totals = [[0.0, 0.0, 0] for _ in range(bins)]
    for confidence, right in zip(confidences, correct, strict=True):
        slot = totals[min(int(confidence * bins), bins - 1)]
        slot[0] += confidence
        slot[1] += float(right)
        slot[2] += 1
    return sum(abs(sure - hits) for sure, hits, _ in totals) / len(confidences)
