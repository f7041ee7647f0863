"""The confidence cascade: the proxy keeps the answers it is sure of, the LLM gets the rest.

A threshold per step is chosen on held-out LLM annotations: a deferred document agrees with
an LLM-only run by construction, a kept one when the proxy gave the LLM's answer. The
threshold is the lowest at which the whole 95% (Wilson) interval of that agreement clears the
target, not just its point estimate: chosen on the point estimate, a filter the LLM says yes to
once in ten (laptop-aspects-in-criticized, 30 held-out annotations) promised 0.967 and
delivered 0.940. A few dozen held-out annotations often cannot certify 0.95 at all (30 of 30
agreeing: 0.886); then every document is "unsure" and the budget decides how many the LLM
answers, the least sure of all steps first (`budget_cut`, estimated on a sample of the corpus
before execution). When the calls run out, the proxy's answers stand (the report says how many).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
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
    certified: bool  # the interval's lower end reaches the target

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
    """The lowest threshold (fewest deferrals) whose agreement interval clears `target`;
    deferring everything when none does."""
    n = len(confidences)
    pairs = sorted(zip(confidences, agrees, strict=True))
    candidates = [0.0] + [c for c, _ in pairs] + [math.inf]
    for value in candidates:
        deferred = sum(1 for c, _ in pairs if c < value)
        agreed = deferred + sum(1 for c, a in pairs if c >= value and a)
        interval = wilson(agreed, n)
        certified = interval[0] >= target
        if certified or value == math.inf:
            cut = EVERYTHING if value == math.inf else value
            estimate = round(agreed / n if n else 1.0, 4)
            return Threshold(cut, estimate, interval, deferred / max(n, 1), n, certified)
    raise AssertionError("unreachable: the last candidate always returns")  # pragma: no cover


def budget_cut(unsure: Mapping[str, Sequence[float]], scale: float, calls: int) -> float | None:
    """The confidence under which the least sure answers of all steps together fill `calls`
    LLM calls over the corpus, from the unsure answers of a sample of it (`scale`: corpus
    documents per sample document); None when all of them fit the budget."""
    pooled = sorted(c for confidences in unsure.values() for c in confidences)
    if len(pooled) * scale <= calls:
        return None
    return pooled[int(calls / scale)]


class UnsureRecorder:
    """The proxy, noting the confidence of each answer under its step's threshold: run over a
    sample of the corpus, it shows where a budget would go before any LLM call is made."""

    name = "proxy"

    def __init__(self, proxy: Answerer, thresholds: Mapping[str, float]) -> None:
        self.proxy = proxy
        self.thresholds = thresholds
        self.unsure: dict[str, list[float]] = {}

    def get_label(self, texts: Sequence[str], instruction: str) -> list[LabelResult]:
        return self._noted(self.proxy.get_label(texts, instruction), instruction)

    def get_span(self, texts: Sequence[str], instruction: str) -> list[SpanResult]:
        return self._noted(self.proxy.get_span(texts, instruction), instruction)

    def _noted(self, results: list[Result], instruction: str) -> list[Result]:
        threshold = self.thresholds.get(instruction, 0.0)
        noted = self.unsure.setdefault(instruction, [])
        noted += [r.confidence for r in results if r.confidence < threshold]
        return results


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
