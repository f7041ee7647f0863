"""How near a decision int8 may not be trusted: the margin, in logits, inside which a window is
answered again in fp32 (`GuardedInt8Runtime`).

The margin is fitted per instruction on held-out texts both runtimes answered: the smallest of
int8's own error quantiles at which the guarded answers agree with fp32 on the share asked
for. The largest error alone would be safe but wasteful: on an sst2 proxy (oracle, N=256) it
was 2.6 logits and sent 15% of the test windows back to fp32 (1.5-1.7x fp32's speed); the
fitted margin sent 7% back, ran at 2.0x and agreed on 99.9% of the test answers
(results/proxy/int8-guard-max-error-sst2.json, int8-guarded-sst2.json). Quantiles every
0.0125 instead of at 0.5/0.75/0.9/0.95/0.98/0.99 sent 11% instead of 14% of a persons proxy's
test windows back (results/proxy/int8-guard-gaps-persons.json).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from falconer.core.metrics import same_answer_share
from falconer.core.spans import Span
from falconer.proxy.inference import (
    WindowLogits,
    borderline_windows,
    replace_windows,
    select_windows,
)

R = TypeVar("R")
QUANTILES = tuple(0.5 + 0.0125 * step for step in range(41))

Answers = Callable[[WindowLogits], Sequence[bool | Sequence[Span]]]


def window_errors(reference: WindowLogits, fast: WindowLogits, kind: str) -> np.ndarray:
    """Per window, the largest change the fast runtime made to a logit that decides the answer
    (the label logit, or a word's tag logits)."""
    if kind == "label":
        return np.asarray(np.abs(reference.label - fast.label), dtype=np.float64)
    return np.asarray(
        [
            float(np.abs(r - f).max()) if len(r) else 0.0
            for r, f in zip(reference.tags, fast.tags, strict=True)
        ],
        dtype=np.float64,
    )


def fit_margin(
    reference: WindowLogits,
    fast: WindowLogits,
    answers: Answers,
    kind: str,
    decision: float,
    min_agreement: float,
) -> float:
    """The smallest error quantile at which the guarded answers agree with the reference's
    on >= `min_agreement` of the texts; the largest error when none does."""
    errors = window_errors(reference, fast, kind)
    if len(errors) == 0:
        return math.inf  # nothing measured: fp32 answers every window
    expected = answers(reference)
    for margin in sorted({float(np.quantile(errors, q)) for q in QUANTILES}):
        mended, _ = guarded(reference, fast, kind, decision, margin)
        if same_answer_share(kind, expected, answers(mended)) >= min_agreement:
            return margin
    return float(errors.max())


def guarded(
    reference: WindowLogits, fast: WindowLogits, kind: str, decision: float, margin: float
) -> tuple[WindowLogits, np.ndarray]:
    """What the guarded runtime answers from logits both runtimes computed: `fast`'s, with the
    windows within `margin` of a decision taken from `reference` (`fast` is left as it was);
    and the indices of those windows."""
    mended = copy.deepcopy(fast)
    redo = borderline_windows(fast, kind, decision, margin)
    replace_windows(mended, redo, select_windows(reference, redo))
    return mended, redo


def fastest(runtimes: Sequence[R], run: Callable[[R], object]) -> R:
    """The runtime that does `run` soonest (after one warm-up run each). Which fp32 recomputes
    int8's borderline windows is measured, not assumed: ONNX Runtime's fp32 ran proxies at
    1.8x PyTorch's on one 2-core VM (results/proxy/int8-recompute-onnx-*.json) and at
    0.8-1.0x on another (results/proxy/runtimes-*.json)."""
    seconds = []
    for runtime in runtimes:
        run(runtime)
        started = time.perf_counter()
        run(runtime)
        seconds.append(time.perf_counter() - started)
    return runtimes[seconds.index(min(seconds))]
