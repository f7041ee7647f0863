"""Warm start, step 1: one proxy trained on some tasks (oracle annotator, N per task, seed 0)
and saved, so that `falconer bench proxy --backbone FOLDER` can fine-tune it on another task.

Usage: python warm_start_pretrain.py TASK_DIR[,TASK_DIR...] OUT_FOLDER [N]
"""

import json
import sys
import time
from pathlib import Path

from falconer.bench.tasks import load_task
from falconer.proxy import Proxy, TrainConfig


def main() -> None:
    folders = sys.argv[1].split(",")
    out = Path(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    data = []
    for folder in folders:
        task = load_task(folder)
        annotated, _ = task.sample(n, 0)
        data.append(task.task_data(annotated))
    proxy = Proxy.from_pretrained("default", threads=2)
    started = time.perf_counter()
    report = proxy.fit(data, config=TrainConfig(seed=0, threads=2))
    proxy.save_pretrained(out)
    summary = {
        "tasks": [Path(f).name for f in folders],
        "n": n,
        "seconds": time.perf_counter() - started,
        "steps": report.steps,
        "dev_scores": report.dev_scores,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
