"""Is a predicted plan correct? The rule of the planning benchmark (../shared/bench/README.md).

A plan is correct when, for some reference plan, there is a one-to-one map between predicted
and reference steps of the same op with equivalent instructions (cosine similarity of
mean-pooled all-MiniLM-L6-v2 embeddings >= 0.6 and the same polarity), the filters have the
same truth table under that map, and the same steps are output as fields.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from falconer.plan.expressions import Expression, evaluate, parse_expression
from falconer.plan.schema import Plan

SIMILARITY = 0.6
_NEGATIVE = re.compile(
    r"^(negative|critici[sz](e|es|ed)|criticism|complain(s|t|ts)?|dislikes?|hates?|bad|loses?|"
    r"lost|loss|unresolved|unhappy|not|n't|no|never|non|without|other|fail(s|ed|ure)?)$"
)
Embed = Callable[[Sequence[str]], np.ndarray]


def polarity(instruction: str) -> bool:
    """True when negative: an odd number of negating words (hyphens read as spaces)."""
    text = instruction.lower().replace("-", " ").replace("n't", " n't")
    words = re.findall(r"n't|[a-z']+", text)
    return sum(bool(_NEGATIVE.match(w)) for w in words) % 2 == 1


@dataclass(frozen=True, slots=True)
class PlanScore:
    correct: bool
    precision: float
    recall: float
    f1: float
    best_reference: int


def _equivalence(predicted: Plan, reference: Plan, embed: Embed) -> np.ndarray:
    texts = [s.instruction for s in predicted.steps] + [s.instruction for s in reference.steps]
    vectors = embed(texts)
    similarity = vectors[: len(predicted.steps)] @ vectors[len(predicted.steps) :].T
    same = np.zeros_like(similarity, dtype=bool)
    for i, p in enumerate(predicted.steps):
        for j, r in enumerate(reference.steps):
            same[i, j] = (
                p.op == r.op
                and similarity[i, j] >= SIMILARITY
                and polarity(p.instruction) == polarity(r.instruction)
            )
    return same


def _max_matching(same: np.ndarray) -> int:
    match: dict[int, int] = {}

    def augment(i: int, seen: set[int]) -> bool:
        for j in np.flatnonzero(same[i]):
            if int(j) in seen:
                continue
            seen.add(int(j))
            if int(j) not in match or augment(match[int(j)], seen):
                match[int(j)] = i
                return True
        return False

    return sum(augment(i, set()) for i in range(same.shape[0]))


def _filters_equal(
    predicted: Expression | None,
    reference: Expression | None,
    rename: dict[str, str],
    labels: list[str],
) -> bool:
    for values in itertools.product([False, True], repeat=len(labels)):
        truth = dict(zip(labels, values, strict=True))
        mapped = {p: truth[r] for p, r in rename.items() if r in truth}
        left = True if predicted is None else evaluate(predicted, mapped)
        right = True if reference is None else evaluate(reference, truth)
        if left != right:
            return False
    return True


def _correct_under_some_map(predicted: Plan, reference: Plan, same: np.ndarray) -> bool:
    if len(predicted.steps) != len(reference.steps):
        return False
    labels = [s.id for s in reference.steps if s.op == "get_label"]
    reference_fields = set(reference.fields.values())
    for order in itertools.permutations(range(len(reference.steps))):
        if not all(same[i, j] for i, j in enumerate(order)):
            continue
        rename = {predicted.steps[i].id: reference.steps[j].id for i, j in enumerate(order)}
        if {rename[s] for s in predicted.fields.values()} != reference_fields:
            continue
        predicted_filter = _expression(predicted.filter)
        if _filters_equal(predicted_filter, _expression(reference.filter), rename, labels):
            return True
    return False


def _expression(source: str | None) -> Expression | None:
    return None if source is None else parse_expression(source)


def score_plan(predicted: Plan | None, references: Sequence[Plan], embed: Embed) -> PlanScore:
    """Correctness, and step P/R/F1 against the best-matching reference."""
    if predicted is None:
        return PlanScore(False, 0.0, 0.0, 0.0, -1)
    best = PlanScore(False, 0.0, 0.0, -1.0, -1)
    for index, reference in enumerate(references):
        same = _equivalence(predicted, reference, embed)
        matched = _max_matching(same)
        precision = matched / len(predicted.steps)
        recall = matched / len(reference.steps)
        f1 = 2 * precision * recall / (precision + recall) if matched else 0.0
        correct = _correct_under_some_map(predicted, reference, same)
        candidate = PlanScore(correct, precision, recall, f1, index)
        if (candidate.correct, candidate.f1) > (best.correct, best.f1):
            best = candidate
    return best
