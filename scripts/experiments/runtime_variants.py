"""Agreement with PyTorch fp32 and speed of inference variants of one trained proxy: ONNX int8
quantization settings and bfloat16. What `falconer bench inference` does for the shipped
runtimes, for the settings that were tried and not shipped.

Usage: python runtime_variants.py PROXY_DIR TASK_DIR INSTRUCTION OUT.json

Agreement is measured on 500 train-pool texts ("held-out", as the runtime gate does) and on
the test texts; speed is the median of 3 passes over the test texts, batches of 32.
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

from falconer.bench.tasks import load_task
from falconer.core.metrics import same_answer_share
from falconer.proxy import Proxy
from falconer.proxy.batching import collate
from falconer.proxy.encoding import encode
from falconer.proxy.inference import labels_from, predict_texts, spans_from
from falconer.proxy.runtimes import (
    Bfloat16Runtime,
    OnnxRuntime,
    Runtime,
    TorchRuntime,
    export_onnx,
)

proxy_dir, task_dir, instruction, out = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
torch.set_num_threads(2)
logging.getLogger().setLevel(logging.ERROR)
proxy = Proxy.from_pretrained(proxy_dir, threads=2)
task = load_task(task_dir)
proxy.config.kinds.setdefault(instruction, task.kind)
held_out = [d.text for d in task.train[:500]]
test = [d.text for d in task.test]


def answers(runtime: Runtime, texts: list[str]) -> list[Any]:
    encoded, predictions = predict_texts(
        runtime, proxy.tokenizer, proxy.config, instruction, texts, 32
    )
    if task.kind == "label":
        return [r.value for r in labels_from(encoded, predictions, proxy.config, instruction)]
    return [r.spans for r in spans_from(texts, encoded, predictions)]


def docs_per_second(runtime: Runtime) -> float:
    speeds = []
    for _ in range(3):
        started = time.perf_counter()
        answers(runtime, test)
        speeds.append(len(test) / (time.perf_counter() - started))
    return statistics.median(speeds)


def matmuls(graph: Path) -> list[str]:
    return [n.name for n in onnx.load(str(graph)).graph.node if n.op_type in ("MatMul", "Gemm")]


reference = TorchRuntime(proxy.model)
expected = {"held_out": answers(reference, held_out), "test": answers(reference, test)}
rows = [{"variant": "torch-fp32", "docs_per_second": docs_per_second(reference)}]
with tempfile.TemporaryDirectory() as folder:
    sample = collate(encode(proxy.tokenizer, ["x"], ["x y"], 32, 8).windows, 0)
    fp32 = export_onnx(proxy.model, sample, Path(folder) / "proxy.onnx")
    names = matmuls(fp32)
    kept_fp32 = [n for n in names if "head" in n or n.endswith("/output/dense/MatMul")]
    settings: dict[str, dict[str, Any]] = {
        "int8-per-channel-8bit": {"per_channel": True},
        "int8-per-channel-7bit": {"per_channel": True, "reduce_range": True},
        "int8-per-tensor": {"per_channel": False},
        "int8-heads-and-ffn-out-fp32": {"per_channel": True, "nodes_to_exclude": kept_fp32},
    }
    variants: dict[str, Runtime] = {"bf16-encoder": Bfloat16Runtime(proxy.model)}
    for name, options in settings.items():
        graph = Path(folder) / f"{name}.onnx"
        quantize_dynamic(str(fp32), str(graph), weight_type=QuantType.QInt8, **options)
        variants[name] = OnnxRuntime(graph, 2, name)
    for name, runtime in variants.items():
        row: dict[str, Any] = {"variant": name, "docs_per_second": docs_per_second(runtime)}
        for split, texts in (("held_out", held_out), ("test", test)):
            row[f"agreement_{split}"] = same_answer_share(
                task.kind, expected[split], answers(runtime, texts)
            )
        row["speedup"] = row["docs_per_second"] / rows[0]["docs_per_second"]
        rows.append(row)
        print(json.dumps(row), flush=True)
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({"proxy": proxy_dir, "instruction": instruction, "rows": rows}, indent=2))
