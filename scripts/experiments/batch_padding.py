"""Seconds per pass over a task's test texts for each runtime, with the windows batched by a
fixed count (64) or also cut where padding would add more than a share of a batch's real
tokens (`batching.length_sorted_batches`'s `padding_slack`). "recompute" is what guarded
int8 answers again in ONNX fp32: the windows near a decision at the margin the shipped guard
fits on 1,000 train-pool texts, the longer windows mostly.

Usage: python batch_padding.py PROXY_DIR TASK_DIR OUT.json [SLACKS, e.g. none,0,0.02,0.05,0.1]

Median of 3 timed passes after one warm-up; batching does not change fp32 answers.
"""

import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from proxy_runs import load

from falconer.proxy.batching import collate, length_sorted_batches
from falconer.proxy.encoding import Window, encode
from falconer.proxy.inference import borderline_windows, decision_logit, window_logits
from falconer.proxy.runtimes import (
    FP32_GRAPH,
    GuardedInt8Runtime,
    OnnxRuntime,
    Runtime,
    TorchRuntime,
)

proxy_dir, out = sys.argv[1], Path(sys.argv[3])
slacks = sys.argv[4].split(",") if len(sys.argv) > 4 else ["none", "0", "0.02", "0.05", "0.1"]
run = load(proxy_dir, sys.argv[2])
proxy, instruction, config = run.proxy, run.instruction, run.proxy.config
pad_id = int(proxy.tokenizer.pad_token_id or 0)


def seconds(runtime: Runtime, windows: Sequence[Window], slack: float) -> float:
    def once() -> float:
        started = time.perf_counter()
        for indices in length_sorted_batches(windows, 64, slack):
            runtime(collate([windows[i] for i in indices], pad_id))
        return time.perf_counter() - started

    once()
    return statistics.median(once() for _ in range(3))


test = [d.text for d in run.task.test]
check = [d.text for d in run.task.train[:1000]]
rows = []
with tempfile.TemporaryDirectory() as folder:
    report = proxy.accelerate({instruction: check}, folder, "onnx-int8")
    int8 = proxy.runtime
    margin = int8.margin(instruction) if isinstance(int8, GuardedInt8Runtime) else math.inf
    onnx = OnnxRuntime(Path(folder) / FP32_GRAPH, 2, "onnx")
    windows = encode(
        proxy.tokenizer, [instruction] * len(test), test, config.max_length, config.stride
    ).windows
    logits = window_logits(int8, windows, pad_id, 64)
    borderline = borderline_windows(
        logits, config.kinds[instruction], decision_logit(config, instruction), margin
    )
    redo = [windows[i] for i in borderline]
    passes = {
        "torch": (TorchRuntime(proxy.model), windows),
        "onnx": (onnx, windows),
        "int8": (int8, windows),
        "recompute": (onnx, redo),
    }
    for name in slacks:
        slack = float("inf") if name == "none" else float(name)
        row: dict[str, object] = {"padding_slack": name}
        for runtime_name, (runtime, chosen) in passes.items():
            row[f"{runtime_name}_batches"] = len(length_sorted_batches(chosen, 64, slack))
            row[f"{runtime_name}_seconds"] = seconds(runtime, chosen, slack)
        rows.append(row)
        print(json.dumps(row), flush=True)
out.parent.mkdir(parents=True, exist_ok=True)
result = {
    "proxy": proxy_dir,
    "task": run.task.name,
    "guard": report.reason,
    "recomputed_windows": len(redo) / max(len(windows), 1),
    "rows": rows,
}
out.write_text(json.dumps(result, indent=1))
