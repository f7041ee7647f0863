"""Guarded int8 with some matrix multiplications left in fp32: fewer int8 errors mean fewer
windows sent back to fp32, at some cost to the int8 pass itself. Each variant goes through
the shipped gate (`Proxy.accelerate`: margin fitted on train-pool texts 0-249, checked on
250-499), then is timed on the test split like `falconer bench inference`.

Usage: python int8_partial_speed.py PROXY_DIR TASK_DIR OUT.json

The figures in results/proxy/int8-partial-laptop.json were measured with the guard of the
time (PyTorch recomputing, margins on 7 quantiles).
"""

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
from proxy_runs import load

import falconer.proxy.proxy as proxy_module
from falconer.core.metrics import same_answer_share
from falconer.proxy import Proxy
from falconer.proxy.runtimes import GuardedInt8Runtime, TorchRuntime, quantize_int8

# which MatMul nodes stay in fp32, by a test on the node's name
VARIANTS: dict[str, Callable[[str], bool]] = {
    "all int8 (shipped)": lambda name: False,
    "ffn output fp32": lambda name: "/output/dense/" in name and "/attention/" not in name,
    "ffn intermediate fp32": lambda name: "/intermediate/dense/" in name,
    "attention q,k,v fp32": lambda name: "/attention/self/" in name,
    "last layer fp32": lambda name: "layer.5/" in name,
    "first layer fp32": lambda name: "layer.0/" in name,
}


def quantizer(keep: Callable[[str], bool]) -> Callable[[Path, Path], Path]:
    def quantize(source: Path, target: Path) -> Path:
        nodes = onnx.load(str(source)).graph.node
        kept = [n.name for n in nodes if n.op_type == "MatMul" and keep(n.name)]
        return quantize_int8(source, target, keep_fp32=kept)

    return quantize


run = load(sys.argv[1], sys.argv[2])
out = Path(sys.argv[3])
check_texts = [d.text for d in run.task.train[:500]]
test = [d.text for d in run.task.test]
expected = run.answers(TorchRuntime(run.proxy.model), test)
fp32 = run.docs_per_second(TorchRuntime(run.proxy.model), test)
rows: list[dict[str, Any]] = [{"variant": "torch fp32", "docs_per_second": fp32}]
print(json.dumps(rows[-1]), flush=True)
for variant, keep in VARIANTS.items():
    run.proxy = Proxy.from_pretrained(sys.argv[1], threads=2)
    proxy_module.quantize_int8 = quantizer(keep)  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as folder:
        report = run.proxy.accelerate({run.instruction: check_texts}, folder, "onnx-int8")
        runtime = run.proxy.runtime
        row: dict[str, Any] = {"variant": variant, "used": report.used, "reason": report.reason}
        if isinstance(runtime, GuardedInt8Runtime):
            runtime.reset_counts()
            agreement = same_answer_share(run.kind, expected, run.answers(runtime, test))
            row["agreement_test"] = agreement
            row["recomputed_test"] = runtime.recomputed_share
            row["docs_per_second"] = run.docs_per_second(runtime, test)
            row["int8_alone_docs_per_second"] = run.docs_per_second(runtime.fast, test)
            row["speedup"] = row["docs_per_second"] / fp32
    rows.append(row)
    print(json.dumps(row), flush=True)
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({"proxy": sys.argv[1], "task": run.task.name, "rows": rows}, indent=2))
