"""Born-again single-task fits taught by a seed ensemble (Furlanello et al. 2018).

Why: step teachers lifted the multitask proxy's yes/no steps to their single-task level, and a
wider backbone (MPNet) teaching MiniLM lifts the single-task fit itself (sst2 0.786 -> 0.844).
Can MiniLM teach itself past its own single fit? K MiniLM proxies fitted on the same N oracle
labels with different training seeds answer POOL unannotated train texts (majority decision,
mean of their P(yes) as the soft target); one student on the same backbone learns the labels
plus those answers. The student with one teacher (K=1, plain born-again) is fitted too, so the
ensemble's share of any gain shows (with --teachers 1 only that student). Teacher 0 trains
with the bench seed: its test score is the shipped single-task fit's (`falconer bench proxy`,
the README's table).

Usage: python seed_ensemble_teacher.py --task DIR --n 256 --seeds 0 1 2 --teachers 3
       --pool 1000 --out results/proxy/FILE.jsonl
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from _born_again import Row, fit, row_head, run_seeds, sample, test_score

from falconer.bench.tasks import BenchTask, load_task
from falconer.core.metrics import score_labels
from falconer.core.tasks import Example, TaskData

TEACHER_SEED_STRIDE = 1000  # teacher k trains with seed + k * stride (teacher 0 = the bench fit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, required=True)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--teachers", type=int, default=3)
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    task = load_task(args.task)
    if task.kind != "label":
        raise SystemExit("yes/no tasks only")
    run_seeds(
        args.seeds, lambda seed: run_seed(task, args.n, seed, args.teachers, args.pool), args.out
    )


def run_seed(task: BenchTask, n: int, seed: int, k: int, pool: int) -> Row:
    data, texts = sample(task, n, seed, pool)
    expected = [d.example() for d in task.test]
    decisions: list[list[bool]] = []
    soft: list[list[float]] = []
    test_votes: list[list[bool]] = []
    teacher_scores = []
    started = time.perf_counter()
    for index in range(k):
        teacher = fit(data, seed + index * TEACHER_SEED_STRIDE)
        teacher_scores.append(round(test_score(teacher, task), 4))
        test_texts = [e.text for e in expected]
        test_votes.append([r.value for r in teacher.get_label(test_texts, task.instruction)])
        decisions.append([r.value for r in teacher.get_label(texts, task.instruction)])
        soft.append(teacher.annotator_probabilities(texts, task.instruction))
        print(f"seed {seed} teacher {index}: {teacher_scores[-1]}", flush=True)
    teach_seconds = time.perf_counter() - started
    ensemble_test = score_votes(test_votes, expected, task.metric)
    one = student_score(task, data, texts, decisions[:1], soft[:1], seed)
    ensemble = one if k == 1 else student_score(task, data, texts, decisions, soft, seed)
    return {
        **row_head(task, n, seed, len(texts)),
        "teachers": teacher_scores,
        "ensemble_test": round(ensemble_test, 4),
        "student_of_teacher_0": round(one, 4),
        f"student_of_{k}": round(ensemble, 4),
        "teach_seconds": round(teach_seconds),
    }


def student_score(
    task: BenchTask,
    data: TaskData,
    texts: list[str],
    decisions: list[list[bool]],
    soft: list[list[float]],
    seed: int,
) -> float:
    k = len(decisions)
    taught = [
        Example(
            text,
            label=sum(d[i] for d in decisions) * 2 > k,
            probability=sum(s[i] for s in soft) / k,
        )
        for i, text in enumerate(texts)
    ]
    student = fit(replace(data, examples=[*data.examples, *taught]), seed)
    return test_score(student, task)


def score_votes(votes: list[list[bool]], expected: list[Example], metric: str) -> float:
    """The teachers' majority answer on test, scored as the bench scores one proxy."""
    k = len(votes)
    predicted = [sum(v[i] for v in votes) * 2 > k for i in range(len(expected))]
    scores = score_labels(predicted, [bool(e.label) for e in expected])
    return scores.accuracy if metric == "accuracy" else scores.f1


if __name__ == "__main__":
    main()
