"""Guarded int8 with some matrix multiplications left in fp32: fewer int8 errors mean fewer
windows sent back to fp32, at some cost to the int8 pass itself. Each variant goes through
the shipped gate (`Proxy.accelerate`: margin fitted on train-pool texts 0-249, checked on
250-499), then is timed on the test split like `falconer bench inference`.

Usage: python int8_partial_speed.py PROXY_DIR TASK_DIR OUT.json

Variants exclude the MatMul nodes whose name holds one of the listed parts
("output/dense" but not "attention/output/dense" is the feed-forward output, 1536 -> 384).
"""

import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import onnx
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

import falconer.proxy.proxy as proxy_module
from falconer.bench.tasks import load_task
from falconer.core.metrics import same_answer_share
from falconer.proxy import Proxy
from falconer.proxy.inference import calibrated, labels_from, spans_from, text_logits
from falconer.proxy.runtimes import GuardedInt8Runtime, Runtime, TorchRuntime

proxy_dir, task_dir, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
torch.set_num_threads(2)
logging.getLogger().setLevel(logging.ERROR)
task = load_task(task_dir)
check_texts = [d.text for d in task.train[:500]]
test = [d.text for d in task.test]

VARIANTS: dict[str, tuple[str, ...]] = {
    "all int8 (shipped)": (),
    "ffn output fp32": ("/output/dense/",),
    "ffn intermediate fp32": ("/intermediate/dense/",),
    "attention q,k,v fp32": ("/attention/self/",),
    "last layer fp32": ("layer.5/",),
    "first layer fp32": ("layer.0/",),
}


def ffn_output(name: str) -> bool:
    return "/output/dense/" in name and "/attention/" not in name


def excluded(graph: Path, parts: tuple[str, ...]) -> list[str]:
    names = [n.name for n in onnx.load(str(graph)).graph.node if n.op_type == "MatMul"]
    chosen = []
    for name in names:
        for part in parts:
            if (part == "/output/dense/" and ffn_output(name)) or (
                part != "/output/dense/" and part in name
            ):
                chosen.append(name)
    return chosen


def quantizer(parts: tuple[str, ...]) -> Any:
    def quantize(source: Path, target: Path) -> Path:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            nodes_to_exclude=excluded(source, parts),
        )
        return target

    return quantize


def answers(proxy: Proxy, runtime: Runtime, instruction: str, kind: str) -> list[Any]:
    encoded, raw = text_logits(runtime, proxy.tokenizer, proxy.config, instruction, test, 64)
    predictions = calibrated(raw, proxy.config, instruction)
    if kind == "label":
        return [r.value for r in labels_from(encoded, predictions, proxy.config)]
    return [r.spans for r in spans_from(test, encoded, predictions)]


def speed(proxy: Proxy, runtime: Runtime, instruction: str) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        text_logits(runtime, proxy.tokenizer, proxy.config, instruction, test, 64)
        times.append(time.perf_counter() - started)
    return len(test) / statistics.median(times)


rows: list[dict[str, Any]] = []
base = Proxy.from_pretrained(proxy_dir, threads=2)
instruction = base.config.instructions[0]
kind = base.config.kinds[instruction]
expected = answers(base, TorchRuntime(base.model), instruction, kind)
fp32 = speed(base, TorchRuntime(base.model), instruction)
rows.append({"variant": "torch fp32", "docs_per_second": fp32})
print(json.dumps(rows[-1]), flush=True)
for variant, parts in VARIANTS.items():
    proxy = Proxy.from_pretrained(proxy_dir, threads=2)
    proxy_module.quantize_int8 = quantizer(parts)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as folder:
        report = proxy.accelerate({instruction: check_texts}, folder, "onnx-int8")
        runtime = proxy.runtime
        row: dict[str, Any] = {"variant": variant, "used": report.used, "reason": report.reason}
        if isinstance(runtime, GuardedInt8Runtime):
            runtime.reset_counts()
            row["agreement_test"] = same_answer_share(
                kind, expected, answers(proxy, runtime, instruction, kind)
            )
            row["recomputed_test"] = runtime.recomputed_share
            row["docs_per_second"] = speed(proxy, runtime, instruction)
            row["int8_alone_docs_per_second"] = speed(proxy, runtime.fast, instruction)
            row["speedup"] = row["docs_per_second"] / fp32
    rows.append(row)
    print(json.dumps(row), flush=True)
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({"proxy": proxy_dir, "task": task.name, "rows": rows}, indent=2))
