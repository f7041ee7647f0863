"""The confidence cascade: the proxy keeps the answers it is sure of, the LLM gets the rest.

A threshold per step is chosen on held-out LLM annotations so that the estimated agreement
with an LLM-only run reaches the target while deferring as few documents as possible: a
deferred document agrees by construction, a kept one agrees when the proxy gave the LLM's
answer. The estimate comes with a Wilson interval over the held-out sample. A budget caps
the LLM calls; when it runs out, the proxy's answers stand (and the report says how many).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, TypeVar

from falconer.core.results import LabelResult, SpanResult
from falconer.engine.answerers import LLMAnswerer
from falconer.engine.executor import Answerer

Z_95 = 1.959964
EVERYTHING = math.nextafter(1.0, 2.0)  # a threshold above any confidence: defer all
Result = TypeVar("Result", LabelResult, SpanResult)


@dataclass(frozen=True, slots=True)
class Threshold:
    """Defer a document when the proxy's confidence is below `value`."""

    value: float
    estimated_agreement: float
    interval: tuple[float, float]
    deferred_share: float
    held_out: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def wilson(successes: float, n: int, z: float = Z_95) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def choose_threshold(
    confidences: Sequence[float], agrees: Sequence[bool], target: float
) -> Threshold:
    """The lowest threshold (fewest deferrals) whose estimated agreement reaches `target`."""
    n = len(confidences)
    pairs = sorted(zip(confidences, agrees, strict=True))
    candidates = [0.0] + [c for c, _ in pairs] + [math.inf]
    for value in candidates:
        deferred = sum(1 for c, _ in pairs if c < value)
        agreed = deferred + sum(1 for c, a in pairs if c >= value and a)
        estimate = agreed / n if n else 1.0
        if estimate >= target or value == math.inf:
            cut = EVERYTHING if value == math.inf else value
            return Threshold(cut, round(estimate, 4), wilson(agreed, n), deferred / max(n, 1), n)
    raise AssertionError("unreachable: deferring everything always agrees")  # pragma: no cover


class CascadeAnswerer:
    """The proxy first; documents it is unsure of (per step threshold) go to the LLM, least
    sure first, while the call budget lasts."""

    name = "proxy"

    def __init__(
        self,
        proxy: Answerer,
        llm: LLMAnswerer,
        thresholds: dict[str, float],
        budget: int | None = None,
    ) -> None:
        self.proxy = proxy
        self.llm = llm
        self.thresholds = thresholds
        self.budget = budget
        self.deferred: dict[str, int] = {}
        self.over_budget: dict[str, int] = {}

    def get_label(self, texts: Sequence[str], instruction: str) -> list[LabelResult]:
        results = self.proxy.get_label(texts, instruction)
        return self._with_llm(results, texts, instruction, self.llm.get_label)

    def get_span(self, texts: Sequence[str], instruction: str) -> list[SpanResult]:
        results = self.proxy.get_span(texts, instruction)
        return self._with_llm(results, texts, instruction, self.llm.get_span)

    def _with_llm(
        self,
        results: list[Result],
        texts: Sequence[str],
        instruction: str,
        ask: Callable[[Sequence[str], str], list[Result]],
    ) -> list[Result]:
        """`results` with the deferred documents answered by the LLM (and marked so)."""
        chosen = self._deferred([r.confidence for r in results], instruction)
        if chosen:
            answers = ask([texts[i] for i in chosen], instruction)
            for i, answer in zip(chosen, answers, strict=True):
                results[i] = replace(answer, source=self.llm.name)
        return results

    def _deferred(self, confidences: Sequence[float], instruction: str) -> list[int]:
        threshold = self.thresholds.get(instruction, 0.0)
        unsure = sorted((c, i) for i, c in enumerate(confidences) if c < threshold)
        left = len(unsure) if self.budget is None else max(self.budget - self.calls, 0)
        chosen = sorted(i for _, i in unsure[:left])
        self.deferred[instruction] = self.deferred.get(instruction, 0) + len(chosen)
        missed = len(unsure) - len(chosen)
        self.over_budget[instruction] = self.over_budget.get(instruction, 0) + missed
        return chosen

    @property
    def calls(self) -> int:
        return sum(self.deferred.values())
