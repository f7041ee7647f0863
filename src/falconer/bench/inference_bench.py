"""`falconer bench inference`: documents per second of a trained proxy, per runtime.

Each non-PyTorch runtime goes through `Proxy.accelerate`, i.e. it is measured only if it
agreed with PyTorch on the held-out texts (the task's train pool, never its test split).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

from falconer.bench.tasks import BenchTask
from falconer.proxy import Proxy
from falconer.proxy.runtimes import TorchRuntime


@dataclass(slots=True)
class InferenceResult:
    task: str
    runtime: str
    used: bool
    docs_per_second: float
    n_docs: int
    threads: int
    agreement: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(proxy: Proxy, task: BenchTask, texts: list[str], repeats: int = 2) -> float:
    """Best of `repeats` passes over the texts (the first also warms caches up)."""
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        if task.kind == "label":
            proxy.get_label(texts, task.instruction)
        else:
            proxy.get_span(texts, task.instruction)
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


def bench_inference(
    proxy: Proxy, task: BenchTask, runtimes: list[str], threads: int, check_n: int = 500
) -> list[InferenceResult]:
    texts = [d.text for d in task.test]
    check = {task.instruction: [d.text for d in task.train[:check_n]]}
    proxy.config.kinds.setdefault(task.instruction, task.kind)
    results = []
    for runtime in runtimes:
        proxy.runtime = TorchRuntime(proxy.model)
        agreement: float | None = None
        used, reason = True, "reference"
        if runtime != "torch":
            with tempfile.TemporaryDirectory() as folder:
                report = proxy.accelerate(check, folder, int8=runtime == "onnx-int8")
            used, reason = report.used, report.reason
            agreement = report.agreement.get(task.instruction)
        speed = measure(proxy, task, texts) if used else 0.0
        results.append(
            InferenceResult(task.name, runtime, used, speed, len(texts), threads, agreement, reason)
        )
    proxy.runtime = TorchRuntime(proxy.model)
    return results
