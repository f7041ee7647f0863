"""int8 ONNX with the borderline windows recomputed in fp32, the margin set to int8's largest
error (times 1, 1.5, 2): how far int8 moves the logits that decide an answer, what share of
windows lies within that distance of a decision, and what agreement and speed that gives. The
shipped runtime fits the margin to an agreement instead (`falconer bench inference`).

Usage: python int8_guard.py PROXY_DIR TASK_DIR OUT.json

Margins are fitted on train-pool texts 0-249 (the largest error int8 made there, times a safety
factor), agreement is measured on train-pool texts 250-499 and on the test texts; speed is the
median of 3 passes over the test texts, batches of 64.
"""

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from proxy_runs import load

from falconer.core.metrics import same_answer_share
from falconer.proxy.batching import collate
from falconer.proxy.encoding import encode
from falconer.proxy.guard import window_errors
from falconer.proxy.inference import WindowLogits
from falconer.proxy.runtimes import (
    GuardedInt8Runtime,
    OnnxRuntime,
    Runtime,
    TorchRuntime,
    export_onnx,
    quantize_int8,
)

proxy_dir, out = sys.argv[1], Path(sys.argv[3])
run = load(proxy_dir, sys.argv[2])
proxy, task, instruction, kind = run.proxy, run.task, run.instruction, run.kind
fit_texts = [d.text for d in task.train[:250]]
check_texts = [d.text for d in task.train[250:500]]
test = [d.text for d in task.test]


logits, answers = run.logits, run.answers_from


def errors(reference: WindowLogits, fast: WindowLogits) -> tuple[float, float]:
    """The largest change int8 made to a label logit and to a word's tag logit."""
    return float(window_errors(reference, fast, "label").max()), float(
        window_errors(reference, fast, "span").max()
    )


def guarded(
    texts: list[str], fast: OnnxRuntime, reference: Runtime, margins: tuple[float, float]
) -> tuple[list[Any], float]:
    """The shipped guarded runtime with a margin of our choosing."""
    margin = margins[0] if kind == "label" else margins[1]
    runtime = GuardedInt8Runtime(fast, reference, {instruction: margin})
    encoded, raw = logits(runtime, texts)
    return answers(texts, encoded, raw), runtime.recomputed_share


def speed(run: Any) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return len(test) / statistics.median(times)


reference = TorchRuntime(proxy.model)
with tempfile.TemporaryDirectory() as folder:
    sample = collate(encode(proxy.tokenizer, ["x"], ["x y"], 32, 8).windows, 0)
    graph = quantize_int8(
        export_onnx(proxy.model, sample, Path(folder) / "p.onnx"), Path(folder) / "p8.onnx"
    )
    fast = OnnxRuntime(graph, 2, "onnx-int8")
    label_error, tag_error = errors(logits(reference, fit_texts)[1], logits(fast, fit_texts)[1])
    expected = {
        "check": answers(check_texts, *logits(reference, check_texts)),
        "test": answers(test, *logits(reference, test)),
    }
    plain = {
        s: same_answer_share(kind, expected[s], answers(t, *logits(fast, t)))
        for s, t in (("check", check_texts), ("test", test))
    }
    rows: list[dict[str, Any]] = [
        {"variant": "torch-fp32", "docs_per_second": speed(lambda: logits(reference, test))},
        {
            "variant": "int8",
            "agreement": plain,
            "docs_per_second": speed(lambda: logits(fast, test)),
        },
    ]
    print(json.dumps({"label_error": label_error, "tag_error": tag_error, "rows": rows}))
    for factor in (1.0, 1.5, 2.0):
        margins = (factor * label_error, factor * tag_error)
        row: dict[str, Any] = {"variant": f"guarded x{factor}", "margins": margins}
        for split, texts in (("check", check_texts), ("test", test)):
            got, share = guarded(texts, fast, reference, margins)
            row[f"agreement_{split}"] = same_answer_share(kind, expected[split], got)
            row[f"recomputed_{split}"] = share
        row["docs_per_second"] = speed(lambda m=margins: guarded(test, fast, reference, m))
        row["speedup"] = row["docs_per_second"] / rows[0]["docs_per_second"]
        rows.append(row)
        print(json.dumps(row), flush=True)
out.parent.mkdir(parents=True, exist_ok=True)
summary = {
    "proxy": proxy_dir,
    "task": task.name,
    "label_error": label_error,
    "tag_error": tag_error,
    "rows": rows,
}
out.write_text(json.dumps(summary, indent=2))
