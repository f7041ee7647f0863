"""`falconer bench inference`: documents per second of a trained proxy, per runtime.

Each non-PyTorch runtime goes through `Proxy.accelerate`, i.e. it is measured only if it
agreed with PyTorch on the held-out texts (the task's train pool, never its test split); its
agreement on the timed test texts is reported beside.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from typing import Any

from falconer.bench.tasks import BenchTask
from falconer.core.metrics import same_answer_share
from falconer.engine.acceleration import CHECK_DOCUMENTS
from falconer.proxy import Proxy
from falconer.proxy.runtimes import GuardedInt8Runtime, TorchRuntime


@dataclass(slots=True)
class InferenceResult:
    task: str
    runtime: str
    used: bool
    docs_per_second: float
    n_docs: int
    threads: int
    agreement: float | None  # with PyTorch fp32 on the held-out check texts (decides use)
    reason: str
    test_agreement: float | None = None  # with PyTorch fp32 on the timed test texts
    recomputed_share: float | None = None  # guarded int8: windows fp32 answered again

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(
    proxy: Proxy, task: BenchTask, texts: list[str], repeats: int = 3
) -> tuple[float, list[Any]]:
    """Median documents/second of `repeats` passes over the texts (the timing of this 2-core
    virtual machine moves by 20% between passes), and the answers."""
    speeds: list[float] = []
    answers: list[Any] = []
    for _ in range(repeats):
        started = time.perf_counter()
        if task.kind == "label":
            answers = [r.value for r in proxy.get_label(texts, task.instruction)]
        else:
            answers = [r.spans for r in proxy.get_span(texts, task.instruction)]
        speeds.append(len(texts) / (time.perf_counter() - started))
    return statistics.median(speeds), answers


def bench_inference(
    proxy: Proxy, task: BenchTask, runtimes: list[str], threads: int, check_n: int = CHECK_DOCUMENTS
) -> list[InferenceResult]:
    texts = [d.text for d in task.test]
    check = {task.instruction: [d.text for d in task.train[:check_n]]}
    proxy.config.kinds.setdefault(task.instruction, task.kind)
    proxy.runtime = TorchRuntime(proxy.model)
    _, reference = measure(proxy, task, texts, repeats=1)
    results = []
    for runtime in runtimes:
        proxy.runtime = TorchRuntime(proxy.model)
        result = InferenceResult(task.name, runtime, True, 0.0, len(texts), threads, None, "")
        if runtime == "torch":
            result.reason = "reference"
            result.docs_per_second, _ = measure(proxy, task, texts)
        else:
            with tempfile.TemporaryDirectory() as folder:
                report = proxy.accelerate(check, folder, runtime)
                result.used, result.reason = report.used, report.reason
                result.agreement = report.agreement.get(task.instruction)
                if report.used:
                    served = proxy.runtime
                    if isinstance(served, GuardedInt8Runtime):
                        served.reset_counts()  # count the timed windows, not the check's
                    result.docs_per_second, answers = measure(proxy, task, texts)
                    result.test_agreement = same_answer_share(task.kind, reference, answers)
                    if isinstance(served, GuardedInt8Runtime):
                        result.recomputed_share = served.recomputed_share
        results.append(result)
    proxy.runtime = TorchRuntime(proxy.model)
    return results
