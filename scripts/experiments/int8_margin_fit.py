"""How often guarded int8's margin, fitted on one half of the check texts, passes the >= 99% check
on the other half, per fitting rule: the shipped guard's functions (`guard.fit_margin`,
`guard.guarded`) on logits computed once, over random halvings of the 500
train-pool check texts `falconer bench inference` uses (or CHECK_TEXTS of them).

- "0.995": the smallest error quantile at which the guarded answers agree on >= 99.5% of the
  fit half (shipped until 2026-12-01, with 500 check texts).
- "1.0": the smallest at which they agree on all of it (shipped since, with 1,000).

Usage: python int8_margin_fit.py PROXY_DIR TASK_DIR OUT.json [SPLITS] [CHECK_TEXTS]

No timing: the share of test windows recomputed is what the guarded runtime's speed hangs on
(`falconer bench inference` times it).
"""

import json
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from proxy_runs import load

from falconer.core.metrics import same_answer_share
from falconer.proxy.batching import collate
from falconer.proxy.encoding import Encoded, encode
from falconer.proxy.guard import fit_margin, guarded
from falconer.proxy.inference import WindowLogits, decision_logit
from falconer.proxy.runtimes import OnnxRuntime, TorchRuntime, export_onnx, quantize_int8

RULES = {"0.995": 0.995, "1.0": 1.0}

proxy_dir, out = sys.argv[1], Path(sys.argv[3])
n_splits = int(sys.argv[4]) if len(sys.argv) > 4 else 10
n_check = int(sys.argv[5]) if len(sys.argv) > 5 else 500
run = load(proxy_dir, sys.argv[2])
proxy, instruction, kind = run.proxy, run.instruction, run.kind
decision = decision_logit(proxy.config, instruction)


logits, answers = run.logits, run.answers_from


def subset(texts: list[str], indices: list[int]) -> list[str]:
    return [texts[i] for i in indices]


_computed: dict[tuple[str, ...], tuple[Encoded, WindowLogits, WindowLogits]] = {}


def both(texts: list[str]) -> tuple[Encoded, WindowLogits, WindowLogits]:
    """fp32 and int8 logits of `texts`, computed once per list of texts."""
    key = tuple(texts)
    if key not in _computed:
        encoded, reference = logits(TorchRuntime(proxy.model), texts)
        _computed[key] = (encoded, reference, logits(int8, texts)[1])
    return _computed[key]


def guarded_agreement(texts: list[str], margin: float) -> tuple[float, float]:
    """Agreement of the guarded answers with fp32 on `texts`, and the share recomputed."""
    encoded, reference, fast = both(texts)
    mended, redo = guarded(reference, fast, kind, decision, margin)
    agreement = same_answer_share(
        kind, answers(texts, encoded, reference), answers(texts, encoded, mended)
    )
    return agreement, len(redo) / max(len(fast.label), 1)


def mean_of(rule: str, field: str) -> float:
    return float(np.mean([r[field] for r in rows if r["rule"] == rule]))


check = [d.text for d in run.task.train[:n_check]]
test = [d.text for d in run.task.test]
rows: list[dict[str, Any]] = []
with tempfile.TemporaryDirectory() as folder:
    sample = collate(encode(proxy.tokenizer, ["x"], ["x y"], 32, 8).windows, 0)
    graph = export_onnx(proxy.model, sample, Path(folder) / "p.onnx")
    int8 = OnnxRuntime(quantize_int8(graph, Path(folder) / "p8.onnx"), 2, "onnx-int8")
    rng = random.Random(0)
    for split in range(n_splits):
        order = list(range(len(check)))
        if split:  # split 0 is the guard's own: first half fits, second half checks
            rng.shuffle(order)
        half = len(order) // 2
        fit_texts, check_texts = subset(check, order[:half]), subset(check, order[half:])
        encoded, reference, fast = both(fit_texts)
        for rule, target in RULES.items():
            margin = fit_margin(
                reference,
                fast,
                lambda raw, t=fit_texts, e=encoded: answers(t, e, raw),
                kind,
                decision,
                target,
            )
            agreement_check, _ = guarded_agreement(check_texts, margin)
            agreement_test, recomputed_test = guarded_agreement(test, margin)
            row = {
                "split": split,
                "rule": rule,
                "margin": margin,
                "agreement_check": agreement_check,
                "passes": agreement_check >= 0.99,
                "agreement_test": agreement_test,
                "recomputed_test": recomputed_test,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
summary = {
    rule: {field: mean_of(rule, field) for field in ("passes", "recomputed_test", "agreement_test")}
    for rule in RULES
}
print(json.dumps(summary))
out.parent.mkdir(parents=True, exist_ok=True)
result = {"proxy": proxy_dir, "task": run.task.name, "summary": summary, "rows": rows}
out.write_text(json.dumps(result, indent=1))
