"""Test score at every held-out evaluation of a proxy fit: how much the checkpoint the small
held-out slice picks costs against the last one or the best one, per training setting.

Diagnosis only: the trainer still selects on its held-out slice; the test split is scored
beside it (by wrapping `Trainer._evaluate`) and never fed back.

Usage: python training_curves.py TASK_DIR VARIANTS_JSON SEEDS OUT.json [N], VARIANTS_JSON mapping
a name to TrainConfig overrides, e.g.
    python training_curves.py ../shared/bench/tasks/sst2-positive \
        '{"lr1e-4": {"learning_rate": 1e-4}}' 0,1 curves.json 256
"""

import json
import sys
import time
from pathlib import Path
from typing import Any

from falconer.bench.tasks import BenchTask, load_task
from falconer.core.metrics import score_labels, score_spans
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.inference import labels_from, spans_from
from falconer.proxy.training import Trainer


def test_score(trainer: Trainer, task: BenchTask) -> float:
    texts = [d.text for d in task.test]
    encoded, predictions = trainer._predict(task.instruction, texts)
    if task.kind == "label":
        config = trainer.proxy_config
        labels = [r.value for r in labels_from(encoded, predictions, config, task.instruction)]
        return score_labels(labels, [bool(d.label) for d in task.test]).accuracy
    spans = [r.spans for r in spans_from(texts, encoded, predictions)]
    return score_spans(spans, [d.spans or () for d in task.test]).f1


def curve_of(task: BenchTask, n: int, seed: int, overrides: dict[str, Any]) -> dict[str, Any]:
    curve: list[tuple[int, float, float]] = []
    original = Trainer._evaluate

    def evaluate(self: Trainer, splits: Any, report: Any, step: int) -> float:
        held_out = original(self, splits, report, step)
        curve.append((step, held_out, test_score(self, task)))
        return held_out

    Trainer._evaluate = evaluate  # type: ignore[method-assign]
    try:
        annotated, _ = task.sample(n, seed)
        proxy = Proxy.from_pretrained("default", threads=2)
        started = time.perf_counter()
        config = TrainConfig(seed=seed, threads=2, **overrides)
        report = proxy.fit([task.task_data(annotated)], config=config)
    finally:
        Trainer._evaluate = original  # type: ignore[method-assign]
    chosen = [test for step, _, test in curve if step == report.best_step][-1]
    return {
        "seed": seed,
        "n": n,
        "curve": curve,
        "best_step": report.best_step,
        "chosen": chosen,
        "last": curve[-1][2],
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    task = load_task(sys.argv[1])
    variants: dict[str, dict[str, Any]] = json.loads(sys.argv[2])
    seeds = [int(s) for s in sys.argv[3].split(",")]
    out = Path(sys.argv[4])
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 256
    rows = json.loads(out.read_text()) if out.exists() else []
    for name, overrides in variants.items():
        for seed in seeds:
            if any(r["variant"] == name and r["seed"] == seed and r["n"] == n for r in rows):
                continue  # resumable
            row = {"task": task.name, "variant": name, "overrides": overrides}
            row |= curve_of(task, n, seed, overrides)
            rows.append(row)
            out.write_text(json.dumps(rows, indent=1))
            points = " ".join(f"{s}:{h:.2f}/{t:.3f}" for s, h, t in row["curve"])
            ends = f"chosen {row['chosen']:.3f} last {row['last']:.3f}"
            print(f"{name} seed {seed}: {points} | {ends}")


if __name__ == "__main__":
    main()
