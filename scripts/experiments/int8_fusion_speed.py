"""Speed of int8 alone, with and without ONNX Runtime's transformer fusion (attention,
skip-layer-norm and GELU fused into single operators) before quantization, against PyTorch
fp32: the guarded int8 runtime cannot be faster than its int8 part.

Usage: python int8_fusion_speed.py PROXY_DIR TASK_DIR OUT.json

Median of 3 passes over the test split, batches of 64, 2 threads; agreement of the raw int8
answers with fp32 on the test split beside.
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
from onnxruntime.transformers.optimizer import optimize_model

from falconer.bench.tasks import load_task
from falconer.core.metrics import same_answer_share
from falconer.proxy import Proxy
from falconer.proxy.batching import collate
from falconer.proxy.encoding import encode
from falconer.proxy.inference import calibrated, labels_from, spans_from, text_logits
from falconer.proxy.runtimes import OnnxRuntime, Runtime, TorchRuntime, export_onnx, quantize_int8

proxy_dir, task_dir, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
torch.set_num_threads(2)
logging.getLogger().setLevel(logging.ERROR)
proxy = Proxy.from_pretrained(proxy_dir, threads=2)
task = load_task(task_dir)
instruction = proxy.config.instructions[0]
kind = proxy.config.kinds[instruction]
test = [d.text for d in task.test]


def answers(runtime: Runtime) -> list[Any]:
    encoded, raw = text_logits(runtime, proxy.tokenizer, proxy.config, instruction, test, 64)
    predictions = calibrated(raw, proxy.config, instruction)
    if kind == "label":
        return [r.value for r in labels_from(encoded, predictions, proxy.config)]
    return [r.spans for r in spans_from(test, encoded, predictions)]


def speed(runtime: Runtime) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        text_logits(runtime, proxy.tokenizer, proxy.config, instruction, test, 64)
        times.append(time.perf_counter() - started)
    return len(test) / statistics.median(times)


def quantize_fused(source: Path, target: Path) -> Path:
    """As `quantize_int8`, told the type of the fused operators' outputs, which ONNX shape
    inference does not know."""
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    return target


rows: list[dict[str, Any]] = []
reference = TorchRuntime(proxy.model)
expected = answers(reference)
fp32_speed = speed(reference)
rows.append({"variant": "torch-fp32", "docs_per_second": fp32_speed})
with tempfile.TemporaryDirectory() as name:
    folder = Path(name)
    sample = collate(encode(proxy.tokenizer, ["x"], ["x y"], 32, 8).windows, 0)
    plain = export_onnx(proxy.model, sample, folder / "p.onnx")
    fused_model = optimize_model(str(plain), "bert", num_heads=12, hidden_size=384)
    fused_model.save_model_to_file(str(folder / "fused.onnx"))
    print(json.dumps(fused_model.get_fused_operator_statistics()), flush=True)
    variants = {
        "onnx-fp32": plain,
        "onnx-fp32-fused": folder / "fused.onnx",
        "int8": quantize_int8(plain, folder / "p8.onnx"),
        "int8-fused": quantize_fused(folder / "fused.onnx", folder / "fused8.onnx"),
    }
    for variant, graph in variants.items():
        runtime = OnnxRuntime(graph, 2, variant)
        row = {
            "variant": variant,
            "agreement_test": same_answer_share(kind, expected, answers(runtime)),
            "docs_per_second": speed(runtime),
        }
        row["speedup"] = row["docs_per_second"] / fp32_speed
        rows.append(row)
        print(json.dumps(row), flush=True)
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({"proxy": proxy_dir, "task": task.name, "rows": rows}, indent=2))
