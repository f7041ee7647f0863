"""Which span windows guarded int8 must send back to fp32: three ways to say a word's tag
decision is near enough to flip, each with its margin fitted as the shipped guard fits it
(the smallest of int8's error quantiles at which the guarded answers agree with fp32 on
>= 99.5% of the fit texts).

- "logit": each tag logit may move by int8's largest per-logit change in the window; a word
  is borderline when its two likeliest tags are less than two margins apart (shipped until
  2026-12-01).
- "difference": the argmax only depends on differences between a word's tag logits, so the
  error is the largest change int8 made to such a difference, and a word is borderline when
  its two likeliest tags are less than one margin apart.
- "decisive": as "difference", and after a word tagged O a B and an I both open a span, so
  there only O against the likelier of B and I decides.

Usage: python int8_guard_gaps.py PROXY_DIR TASK_DIR OUT.json

Margins are searched over the seven quantiles of int8's error the guard used until 2026-12-01
and over the fine grid it uses since (every 0.0125 from 0.5 to 1). Fit texts: train pool
0-249; check: 250-499; and the test split. No timing here: the share of windows recomputed
is what the speed of the guarded runtime hangs on (`falconer bench inference` times it).
"""

import copy
import itertools
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from proxy_runs import load

from falconer.core.metrics import same_answer_share
from falconer.proxy.batching import collate
from falconer.proxy.encoding import TAG_B, TAG_I, TAG_O, Encoded, encode
from falconer.proxy.guard import QUANTILES
from falconer.proxy.inference import WindowLogits, calibrated, spans_from, text_logits
from falconer.proxy.runtimes import OnnxRuntime, Runtime, TorchRuntime, export_onnx, quantize_int8

proxy_dir, out = sys.argv[1], Path(sys.argv[3])
run = load(proxy_dir, sys.argv[2])
proxy, task, instruction = run.proxy, run.task, run.instruction
splits = {
    "fit": [d.text for d in task.train[:250]],
    "check": [d.text for d in task.train[250:500]],
    "test": [d.text for d in task.test],
}


def logits(runtime: Runtime, texts: list[str]) -> tuple[Encoded, WindowLogits]:
    return text_logits(runtime, proxy.tokenizer, proxy.config, instruction, texts, 64)


def answers(texts: list[str], encoded: Encoded, raw: WindowLogits) -> list[Any]:
    return [r.spans for r in spans_from(texts, encoded, calibrated(raw, proxy.config, instruction))]


def logit_error(r: np.ndarray, f: np.ndarray) -> float:
    return float(np.abs(r - f).max()) if len(r) else 0.0


def difference_error(r: np.ndarray, f: np.ndarray) -> float:
    moved = r - f
    return float((moved.max(axis=1) - moved.min(axis=1)).max()) if len(r) else 0.0


def top_two_gaps(tags: np.ndarray) -> np.ndarray:
    ordered = np.sort(tags, axis=1)
    return np.asarray(ordered[:, -1] - ordered[:, -2])


def decisive_gaps(tags: np.ndarray) -> np.ndarray:
    gaps = top_two_gaps(tags)
    after_outside = np.zeros(len(tags), dtype=bool)
    after_outside[1:] = tags[:-1].argmax(axis=1) == TAG_O
    opening = np.maximum(tags[:, TAG_B], tags[:, TAG_I])
    gaps[after_outside] = np.abs(opening - tags[:, TAG_O])[after_outside]
    return gaps


Criterion = tuple[
    Callable[[np.ndarray, np.ndarray], float], Callable[[np.ndarray], np.ndarray], float
]
CRITERIA: dict[str, Criterion] = {
    "logit": (logit_error, top_two_gaps, 2.0),
    "difference": (difference_error, top_two_gaps, 1.0),
    "decisive": (difference_error, decisive_gaps, 1.0),
}


def borderline(fast: WindowLogits, criterion: Criterion, margin: float) -> np.ndarray:
    _, gaps, factor = criterion
    smallest = [float(gaps(t).min()) if len(t) else np.inf for t in fast.tags]
    return np.flatnonzero(np.asarray(smallest) < factor * margin)


def guarded(reference: WindowLogits, fast: WindowLogits, redo: np.ndarray) -> WindowLogits:
    mended = copy.deepcopy(fast)
    for i in redo:
        mended.tags[int(i)] = reference.tags[int(i)]
    return mended


SEVEN = (0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 1.0)  # the guard's quantiles until 2026-12-01


def fit(
    texts: list[str],
    encoded: Encoded,
    reference: WindowLogits,
    fast: WindowLogits,
    criterion: Criterion,
    quantiles: tuple[float, ...],
) -> float:
    error, _, _ = criterion
    errors = np.asarray([error(r, f) for r, f in zip(reference.tags, fast.tags, strict=True)])
    expected = answers(texts, encoded, reference)
    for margin in sorted({float(np.quantile(errors, q)) for q in quantiles}):
        got = answers(texts, encoded, guarded(reference, fast, borderline(fast, criterion, margin)))
        if same_answer_share("span", expected, got) >= 0.995:
            return margin
    return float(errors.max())


with tempfile.TemporaryDirectory() as folder:
    sample = collate(encode(proxy.tokenizer, ["x"], ["x y"], 32, 8).windows, 0)
    graph = quantize_int8(
        export_onnx(proxy.model, sample, Path(folder) / "p.onnx"), Path(folder) / "p8.onnx"
    )
    int8 = OnnxRuntime(graph, 2, "onnx-int8")
    computed = {
        split: (logits(TorchRuntime(proxy.model), texts), logits(int8, texts))
        for split, texts in splits.items()
    }
rows = []
for (name, criterion), (grid, quantiles) in itertools.product(
    CRITERIA.items(), (("seven", SEVEN), ("fine", QUANTILES))
):
    (encoded, reference), (_, fast) = computed["fit"]
    margin = fit(splits["fit"], encoded, reference, fast, criterion, quantiles)
    row: dict[str, Any] = {"criterion": name, "quantiles": grid, "margin": margin}
    for split in ("check", "test"):
        (encoded, reference), (_, fast) = computed[split]
        redo = borderline(fast, criterion, margin)
        got = answers(splits[split], encoded, guarded(reference, fast, redo))
        row[f"agreement_{split}"] = same_answer_share(
            "span", answers(splits[split], encoded, reference), got
        )
        row[f"recomputed_{split}"] = len(redo) / len(fast.tags)
    rows.append(row)
    print(json.dumps(row), flush=True)
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({"proxy": proxy_dir, "task": task.name, "rows": rows}, indent=2))
