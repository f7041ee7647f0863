"""Error analysis of a yes/no proxy: runs `falconer bench proxy` (all its arguments) and also
writes, per seed, the test texts the proxy got wrong with their gold answer and P(yes) to
OUT-seedS.jsonl (read by eye: which errors are the proxy's and which the gold's).

Usage: python label_errors.py OUT --task DIR --n 256 --annotator oracle --seed S
"""

import json
import sys
from pathlib import Path
from typing import Any

from falconer.bench import proxy_bench
from falconer.cli.app import app
from falconer.proxy import Proxy

OUT = sys.argv[1]


def evaluate(
    self: proxy_bench.ProxyBench,
    proxy: Proxy,
    task: Any,
    seed: int,
    seconds: float,
    report: dict[str, Any],
) -> proxy_bench.ProxyBenchResult:
    docs = self._test_docs(task)
    answers = proxy.get_label([d.text for d in docs], task.instruction)
    with Path(f"{OUT}-seed{seed}.jsonl").open("w") as out:
        for doc, answer in zip(docs, answers, strict=True):
            if answer.value != bool(doc.label):
                row = {"id": doc.id, "gold": bool(doc.label), "p_yes": round(answer.probability, 4)}
                out.write(json.dumps({**row, "text": doc.text}) + "\n")
    return shipped_evaluate(self, proxy, task, seed, seconds, report)


shipped_evaluate = proxy_bench.ProxyBench._evaluate
proxy_bench.ProxyBench._evaluate = evaluate  # type: ignore[method-assign]

if __name__ == "__main__":
    app(["bench", "proxy", *sys.argv[2:]])
