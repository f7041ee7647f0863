"""Speed of int8 alone, with and without ONNX Runtime's transformer fusion (attention,
skip-layer-norm and GELU fused into single operators) before quantization, against PyTorch
fp32: the guarded int8 runtime cannot be faster than its int8 part.

Usage: python int8_fusion_speed.py PROXY_DIR TASK_DIR OUT.json

Median of 3 passes over the test split, batches of 64, 2 threads; agreement of the raw int8
answers with fp32 on the test split beside.
"""

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import onnx
from onnxruntime.transformers.optimizer import optimize_model
from proxy_runs import load

from falconer.core.metrics import same_answer_share
from falconer.proxy.batching import collate
from falconer.proxy.encoding import encode
from falconer.proxy.runtimes import OnnxRuntime, TorchRuntime, export_onnx, quantize_int8

run = load(sys.argv[1], sys.argv[2])
out = Path(sys.argv[3])
proxy, test = run.proxy, [d.text for d in run.task.test]
reference = TorchRuntime(proxy.model)
expected = run.answers(reference, test)
fp32_speed = run.docs_per_second(reference, test)
rows: list[dict[str, Any]] = [{"variant": "torch-fp32", "docs_per_second": fp32_speed}]
with tempfile.TemporaryDirectory() as name:
    folder = Path(name)
    sample = collate(encode(proxy.tokenizer, ["x"], ["x y"], 32, 8).windows, 0)
    plain = export_onnx(proxy.model, sample, folder / "p.onnx")
    fused_model = optimize_model(str(plain), "bert", num_heads=12, hidden_size=384)
    fused_model.save_model_to_file(str(folder / "fused.onnx"))
    print(json.dumps(fused_model.get_fused_operator_statistics()), flush=True)
    # ONNX shape inference does not know the fused operators' output types
    fused_types = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    variants = {
        "onnx-fp32": plain,
        "onnx-fp32-fused": folder / "fused.onnx",
        "int8": quantize_int8(plain, folder / "p8.onnx"),
        "int8-fused": quantize_int8(
            folder / "fused.onnx", folder / "fused8.onnx", extra_options=fused_types
        ),
    }
    for variant, graph in variants.items():
        runtime = OnnxRuntime(graph, 2, variant)
        row = {
            "variant": variant,
            "agreement_test": same_answer_share(run.kind, expected, run.answers(runtime, test)),
            "docs_per_second": run.docs_per_second(runtime, test),
        }
        row["speedup"] = row["docs_per_second"] / fp32_speed
        rows.append(row)
        print(json.dumps(row), flush=True)
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({"proxy": sys.argv[1], "task": run.task.name, "rows": rows}, indent=2))
