"""Warm start, step 1: one proxy trained on some tasks (oracle annotator, N per task, seed 0)
and saved, so that `falconer bench proxy --backbone FOLDER` can fine-tune it on another task.
`falconer bench proxy --warm-from-others` does the same with all the run's other tasks; this
picks which ones (the forty-fifth session's start from the other two span tasks only).

Usage: python warm_start_pretrain.py TASK_DIR[,TASK_DIR...] OUT_FOLDER [N] [BACKBONE]
"""

import json
import sys
from pathlib import Path

from falconer.bench.proxy_bench import pretrained_on
from falconer.bench.tasks import load_task


def main() -> None:
    tasks = [load_task(folder) for folder in sys.argv[1].split(",")]
    out = Path(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    backbone = sys.argv[4] if len(sys.argv) > 4 else "default"
    proxy, summary = pretrained_on(tasks, n, backbone, threads=2)
    proxy.save_pretrained(out)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
