"""Does averaging the weights of a fit's second half beat the checkpoint it keeps?

An oracle N=256 fit keeps one checkpoint of its second half, chosen on ~38 held-out texts
whose score swings +-0.05 between evaluations (`_Selection`). Tail averaging (Polyak-Ruppert;
SWA without its cyclic rate) keeps instead the mean of the weights after every optimizer step
of the second half: no extra training, no extra inference cost, and no choice made on the
small held-out slice. Paired: ONE fit per task and seed, exactly as `falconer bench proxy`
runs it; the test split is then scored with the kept checkpoint, the last one and the tail
average (decisions at the proxy's own thresholds; for these hard-label and span fits that
is P(yes) 0.5 and the tag argmax, so the calibration fitted for the kept checkpoint does not
decide anything).

Diagnosis only: the averaging runs beside the trainer (by wrapping the optimizer it builds);
the test split is never fed back.

Usage: python weight_averaging.py OUT.jsonl SEEDS TASK_DIR [TASK_DIR ...]
"""

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from falconer.bench.tasks import BenchTask, load_task
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.checks import check_answers
from falconer.proxy.training import Trainer, _snapshot


class TailAverage:
    """The running mean of a model's floating-point weights over the steps it is told of."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.mean: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self) -> None:
        self.count += 1
        for name, value in self.model.state_dict().items():
            if not value.is_floating_point():
                self.mean[name] = value.detach().clone()
            elif name not in self.mean:
                self.mean[name] = value.detach().float().clone()
            else:
                self.mean[name] += (value.detach().float() - self.mean[name]) / self.count


def fit_with_tail(proxy: Proxy, task: BenchTask, seed: int) -> dict[str, Any]:
    """Fit as the benchmark does; return the tail average and last weights beside the report."""
    tail = TailAverage(proxy.model)
    last: dict[str, torch.Tensor] = {}
    original = Trainer._optimizer

    def optimizer_with_tail(self: Trainer, total: int, lr: float) -> Any:
        optimizer, scheduler = original(self, total, lr)
        step_once = optimizer.step
        done = [0]

        def step(*args: Any, **kwargs: Any) -> Any:
            result = step_once(*args, **kwargs)
            done[0] += 1
            if 2 * done[0] > total:
                tail.add()
            if done[0] == total:
                last.update(_snapshot(self.model))
            return result

        optimizer.step = step  # type: ignore[method-assign]
        return optimizer, scheduler

    Trainer._optimizer = optimizer_with_tail  # type: ignore[method-assign]
    try:
        annotated, _ = task.sample(256, seed)
        started = time.perf_counter()
        report = proxy.fit([task.task_data(annotated)], config=TrainConfig(seed=seed, threads=2))
        seconds = time.perf_counter() - started
    finally:
        Trainer._optimizer = original  # type: ignore[method-assign]
    return {"report": report, "tail": tail, "last": last, "seconds": seconds}


def test_scores(proxy: Proxy, task: BenchTask) -> dict[str, float]:
    expected = [d.example() for d in task.test]
    check = check_answers(proxy, task.instruction, task.kind, expected)
    return {"score": check.score(task.metric), **check.scores.to_dict()}


def run(task: BenchTask, seed: int) -> dict[str, Any]:
    proxy = Proxy.from_pretrained("default", threads=2)
    fitted = fit_with_tail(proxy, task, seed)
    kept = test_scores(proxy, task)
    dtypes = {k: v.dtype for k, v in proxy.model.state_dict().items()}
    proxy.model.load_state_dict({k: v.to(dtypes[k]) for k, v in fitted["tail"].mean.items()})
    averaged = test_scores(proxy, task)
    proxy.model.load_state_dict(fitted["last"])
    last = test_scores(proxy, task)
    report = fitted["report"]
    return {
        "task": task.name,
        "seed": seed,
        "n": 256,
        "steps": report.steps,
        "best_step": report.best_step,
        "averaged_steps": fitted["tail"].count,
        "train_seconds": round(fitted["seconds"], 1),
        "kept": kept,
        "last": last,
        "tail_average": averaged,
    }


def main() -> None:
    out = Path(sys.argv[1])
    seeds = [int(s) for s in sys.argv[2].split(",")]
    tasks = [load_task(p) for p in sys.argv[3:]]
    done = {(r["task"], r["seed"]) for r in map(json.loads, out.open())} if out.exists() else set()
    for seed in seeds:
        for task in tasks:
            if (task.name, seed) in done:
                continue  # resumable
            row = run(task, seed)
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            kept, last, tail = (row[x]["score"] for x in ("kept", "last", "tail_average"))
            print(
                f"{task.name} seed {seed}: kept {kept:.4f} (step {row['best_step']}) "
                f"last {last:.4f} tail average {tail:.4f} | {row['train_seconds']:.0f}s",
                flush=True,
            )


if __name__ == "__main__":
    main()
