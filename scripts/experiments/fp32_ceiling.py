"""How near PyTorch fp32 inference runs to the CPU's arithmetic limit, and whether
torch.compile moves it: a task's test split answered in eager fp32 (three timed passes), one
pass profiled by operator, the tokens counted to turn the matrix products' seconds into
GFLOP/s, then the same passes through `torch.compile(dynamic=True)` with its agreement.

Usage: python fp32_ceiling.py PROXY_DIR TASK_DIR OUT.json
"""

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from falconer.bench.tasks import load_task
from falconer.proxy import Proxy
from falconer.proxy.batching import Batch


class CompiledRuntime:
    name = "torch"

    def __init__(self, model: torch.nn.Module) -> None:
        self.compiled = torch.compile(model, dynamic=True)

    def __call__(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            output = self.compiled(**batch.inputs())
        return output.label_logits.float().numpy(), output.tag_logits.float().numpy()


def passes(proxy: Proxy, texts: list[str], instruction: str) -> tuple[list[float], list[float]]:
    rates, probabilities = [], []
    for _ in range(3):
        started = time.perf_counter()
        answers = proxy.get_label(texts, instruction)
        rates.append(round(len(texts) / (time.perf_counter() - started), 1))
        probabilities = [a.probability for a in answers]
    return rates, probabilities


def linear_flops_per_token(proxy: Proxy) -> float:
    """Multiply-adds of the attention projections and the feed-forward layers, times two."""
    config = proxy.model.encoder.config
    width, inner = config.hidden_size, config.intermediate_size
    return 2.0 * config.num_hidden_layers * (4 * width * width + 2 * width * inner)


def main(proxy_dir: str, task_dir: str, out: str) -> None:
    torch.set_num_threads(2)
    task = load_task(task_dir)
    texts = [d.text for d in task.test]
    proxy = Proxy.from_pretrained(proxy_dir, threads=2)
    proxy.get_label(texts[:64], task.instruction)
    eager, reference = passes(proxy, texts, task.instruction)
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        started = time.perf_counter()
        proxy.get_label(texts, task.instruction)
        profiled_seconds = time.perf_counter() - started
    operators = {e.key: round(e.self_cpu_time_total / 1e6, 3) for e in profiled.key_averages()}
    total = sum(operators.values())
    tokens = sum(len(proxy.tokenizer(task.instruction, t)["input_ids"]) for t in texts)
    matmul = operators.get("aten::addmm", 0.0)
    result: dict[str, Any] = {
        "proxy": proxy_dir,
        "task": task.name,
        "documents": len(texts),
        "tokens_unpadded": tokens,
        "instruction_tokens": len(proxy.tokenizer(task.instruction)["input_ids"]),
        "eager_docs_per_second": eager,
        "profiled_seconds": round(profiled_seconds, 3),
        "operator_share": {
            k: round(v / total, 4) for k, v in sorted(operators.items(), key=lambda kv: -kv[1])[:8]
        },
        "addmm_seconds": matmul,
        "addmm_gflop_per_second_unpadded": round(
            tokens * linear_flops_per_token(proxy) / matmul / 1e9, 1
        ),
    }
    proxy.runtime = CompiledRuntime(proxy.model)
    started = time.perf_counter()
    proxy.get_label(texts[:64], task.instruction)
    result["compile_warm_up_seconds"] = round(time.perf_counter() - started, 1)
    compiled, answers = passes(proxy, texts, task.instruction)
    result["compiled_docs_per_second"] = compiled
    result["compiled_agreement"] = float(
        np.mean((np.array(answers) >= 0.5) == (np.array(reference) >= 0.5))
    )
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:4])
