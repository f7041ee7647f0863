"""What the int8 guard costs: PyTorch fp32, guarded int8 (shipped) and its int8 pass alone,
timed on a task's test split like `falconer bench inference`, with each one's agreement with
fp32. What the guard recomputes depends on the proxy: on one AVX2-only VM a plain sst2 fit had
18.7% of its test windows recomputed, the fit `bench proxy` ships 3.7% (docs/results.md).

Usage: python int8_alone_speed.py PROXY_DIR TASK_DIR OUT.json
"""

import json
import sys
import tempfile
from pathlib import Path

import torch

from falconer.bench.inference_bench import measure
from falconer.bench.tasks import load_task
from falconer.core.metrics import same_answer_share
from falconer.engine.acceleration import CHECK_DOCUMENTS
from falconer.proxy import Proxy
from falconer.proxy.runtimes import GuardedInt8Runtime


def main(proxy_dir: str, task_dir: str, out: str) -> None:
    torch.set_num_threads(2)
    task = load_task(task_dir)
    proxy = Proxy.from_pretrained(proxy_dir)
    proxy.config.kinds.setdefault(task.instruction, task.kind)
    texts = [d.text for d in task.test]
    check = {task.instruction: [d.text for d in task.train[:CHECK_DOCUMENTS]]}
    rows = []
    speed, reference = measure(proxy, task, texts)
    rows.append({"runtime": "torch", "docs_per_second": speed, "agreement": 1.0})
    with tempfile.TemporaryDirectory() as folder:
        proxy.accelerate(check, folder, "onnx-int8")
        guarded = proxy.runtime
        if not isinstance(guarded, GuardedInt8Runtime):
            raise SystemExit("guarded int8 was refused for this proxy")
        guarded.reset_counts()
        speed, answers = measure(proxy, task, texts)
        agreement = same_answer_share(task.kind, reference, answers)
        rows.append(
            {
                "runtime": "guarded int8",
                "docs_per_second": speed,
                "agreement": agreement,
                "recomputed_share": guarded.recomputed_share,
            }
        )
        proxy.runtime = guarded.fast
        speed, answers = measure(proxy, task, texts)
        agreement = same_answer_share(task.kind, reference, answers)
        rows.append({"runtime": "int8 alone", "docs_per_second": speed, "agreement": agreement})
    for row in rows:
        print(row)
    record = {"proxy": proxy_dir, "task": task.name, "rows": rows}
    Path(out).write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:4])
