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

import hashlib
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
    for value in [0.0, *sorted(confidences), EVERYTHING]:
        threshold = threshold_at(confidences, agrees, value, target)
        if threshold.certified or value == EVERYTHING:
            return threshold
    raise AssertionError("unreachable: the last candidate always returns")  # pragma: no cover


def threshold_at(
    confidences: Sequence[float], agrees: Sequence[bool], value: float, target: float
) -> Threshold:
    """What deferring every held-out answer under `value` gives: the agreement with the
    LLM-only answers, its interval, and whether that clears `target`."""
    n = len(confidences)
    deferred = sum(1 for c in confidences if c < value)
    agreed = deferred + sum(1 for c, a in zip(confidences, agrees, strict=True) if c >= value and a)
    interval = wilson(agreed, n)
    estimate = round(agreed / n if n else 1.0, 4)
    return Threshold(value, estimate, interval, deferred / max(n, 1), n, interval[0] >= target)


def budget_cut(unsure: Sequence[float], scale: float, budget: int) -> float | None:
    """The confidence under which the least sure of a sample's `unsure` answers (or
    documents) fill `budget` over the corpus (`scale`: corpus documents per sample document);
    None when all of them fit."""
    pooled = sorted(unsure)
    if len(pooled) * scale <= budget:
        return None
    return pooled[int(budget / scale)]


def text_key(text: str) -> bytes:
    """A document's identity as the cascade sees it (answerers get texts, not ids)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class UnsureRecorder:
    """The proxy, noting every answer under its step's threshold: run over a sample of the
    corpus, it shows where a budget would go before any LLM call is made."""

    name = "proxy"

    def __init__(self, proxy: Answerer, thresholds: Mapping[str, float]) -> None:
        self.proxy = proxy
        self.thresholds = thresholds
        self.answers: list[float] = []  # confidence of each unsure answer
        self.documents: dict[bytes, float] = {}  # least confidence of each unsure document

    def get_label(self, texts: Sequence[str], instruction: str) -> list[LabelResult]:
        return self._noted(self.proxy.get_label(texts, instruction), texts, instruction)

    def get_span(self, texts: Sequence[str], instruction: str) -> list[SpanResult]:
        return self._noted(self.proxy.get_span(texts, instruction), texts, instruction)

    def _noted(self, results: list[Result], texts: Sequence[str], instruction: str) -> list[Result]:
        threshold = self.thresholds.get(instruction, 0.0)
        for text, result in zip(texts, results, strict=True):
            if result.confidence < threshold:
                self.answers.append(result.confidence)
                key = text_key(text)
                self.documents[key] = min(result.confidence, self.documents.get(key, 1.0))
        return results


class Deferrals:
    """Which answers go to the LLM: those under the step's threshold, least sure first, while
    the budget lasts, and every later step of a document the LLM already answered a step of
    (its final answer is then the LLM-only one). With `per_document` the budget counts
    documents handed to the LLM, and their later steps are free; else it counts calls."""

    def __init__(self, budget: int | None = None, per_document: bool = False) -> None:
        self.budget = budget
        self.per_document = per_document
        self.deferred: dict[str, int] = {}  # instruction -> answers the LLM gave
        self.over_budget: dict[str, int] = {}  # instruction -> unsure answers left to the proxy
        self.handed: set[bytes] = set()  # documents the LLM has answered a step of
        self.spent = 0  # calls, or with `per_document` documents

    def choose(
        self, confidences: Sequence[float], texts: Sequence[str], instruction: str, below: float
    ) -> list[int]:
        keys = [text_key(text) for text in texts]
        handed = [i for i, key in enumerate(keys) if key in self.handed]
        fresh = [i for i, key in enumerate(keys) if key not in self.handed]
        unsure = sorted((confidences[i], i) for i in fresh if confidences[i] < below)
        wanted = len(handed) + len(unsure)
        if not self.per_document:  # the LLM's documents cost calls too, and come first
            handed = handed[: self._left(len(handed))]
            self.spent += len(handed)
        new = [i for _, i in unsure[: self._left(len(unsure))]]
        self.spent += len(new)
        self.handed.update(keys[i] for i in new)
        chosen = sorted(handed + new)
        self.deferred[instruction] = self.deferred.get(instruction, 0) + len(chosen)
        missed = wanted - len(chosen)
        self.over_budget[instruction] = self.over_budget.get(instruction, 0) + missed
        return chosen

    def _left(self, wanted: int) -> int:
        return wanted if self.budget is None else min(wanted, max(self.budget - self.spent, 0))


class CascadeAnswerer:
    """The proxy first; what it is unsure of goes to the LLM (see `Deferrals`)."""

    name = "proxy"

    def __init__(
        self,
        proxy: Answerer,
        llm: LLMAnswerer,
        thresholds: dict[str, float],
        budget: int | None = None,
        per_document: bool = False,
    ) -> None:
        self.proxy = proxy
        self.llm = llm
        self.thresholds = thresholds
        self.deferrals = Deferrals(budget, per_document)

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
        below = self.thresholds.get(instruction, 0.0)
        confidences = [r.confidence for r in results]
        chosen = self.deferrals.choose(confidences, texts, instruction, below)
        if chosen:
            answers = ask([texts[i] for i in chosen], instruction)
            for i, answer in zip(chosen, answers, strict=True):
                results[i] = replace(answer, source=self.llm.name)
        return results
