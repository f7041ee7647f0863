"""Born-again generations and teacher pool size for one-task fits (Furlanello et al. 2018).

Why: the shipped one-task fit is a second generation: its first fit answers 1,000 unannotated
train texts (STEP_TEACHER_POOL; span answers under SPAN_TEACHER_FLOOR left out) and a second
fit learns from them too (proxy.distillation). Furlanello et al. report gains up to the third
generation, and a teacher answering more texts taught more when MPNet taught MiniLM
(docs/results.md, "Distillation"). Each generation g >= 1 here is fitted on the same
annotations and seed plus generation g-1's answers on the first POOL unannotated train
texts; generation 1 with the default pool is the shipped fit (its score should match
`falconer bench proxy`).

Usage: python born_again_generations.py --task DIR --n 256 --seeds 0 1 2 --generations 3
       --pool 1000 --out results/proxy/FILE.jsonl
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _born_again import Row, fit, row_head, run_seeds, sample, test_score

from falconer.bench.tasks import BenchTask, load_task
from falconer.proxy.distillation import SPAN_TEACHER_FLOOR, STEP_TEACHER_POOL, taught_tasks
from falconer.proxy.proxy import Proxy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, required=True)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--generations", type=int, default=3, help="fits after the first")
    parser.add_argument("--pool", type=int, default=STEP_TEACHER_POOL)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    task = load_task(args.task)
    run_seeds(
        args.seeds,
        lambda seed: run_seed(task, args.n, seed, args.generations, args.pool),
        args.out,
    )


def run_seed(task: BenchTask, n: int, seed: int, generations: int, pool: int) -> Row:
    data, texts = sample(task, n, seed, pool)
    scores, seconds, taught = [], [], []
    teacher: Proxy | None = None
    for generation in range(generations + 1):
        started = time.perf_counter()
        lesson_data = data
        if teacher is not None:
            (lesson_data,), (lesson,) = taught_tasks(
                teacher, [data], texts, span_floor=SPAN_TEACHER_FLOOR
            )
            taught.append(lesson.taught)
        teacher = fit(lesson_data, seed)
        seconds.append(round(time.perf_counter() - started))
        scores.append(round(test_score(teacher, task), 4))
        print(f"{task.name} seed {seed} generation {generation}: {scores[-1]}", flush=True)
    return {
        **row_head(task, n, seed, len(texts)),
        "scores_by_generation": scores,
        "taught_by_generation": taught,
        "seconds_by_generation": seconds,
    }


if __name__ == "__main__":
    main()
