"""Born-again one-task span fits taught by a seed ensemble (Furlanello et al. 2018).

Why: the shipped span fit is taught by its own first fit (persons 0.808 -> 0.840, ncbi 0.650 ->
0.657 at N=256), and every change to what that one teacher teaches has been measured to move
nothing (proxy.distillation). On sst2 a seed ensemble of three first fits taught less than one
(seed_ensemble_teacher.py), but a yes/no answer has a soft target to average; a span answer
has none, and a majority vote over spans is what removes one fit's stray spans. K MiniLM
proxies fitted on the same N oracle annotations with different training seeds answer POOL
unannotated train texts. A span is taught when more than half of them found exactly it; a
text is taught when more than half of them were sure of their answer (its least sure word at
or above SPAN_TEACHER_FLOOR, the shipped rule for one teacher). The student with teacher 0
alone is the shipped fit (`falconer bench proxy`).

Usage: python seed_ensemble_span_teacher.py --task DIR --n 256 --seeds 0 1 2 --teachers 3
       --pool 1000 --out results/proxy/FILE.jsonl
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from _born_again import Row, fit, row_head, run_seeds, sample, test_score

from falconer.bench.tasks import BenchTask, load_task
from falconer.core.metrics import score_spans
from falconer.core.results import SpanResult
from falconer.core.spans import Span
from falconer.core.tasks import Example, TaskData
from falconer.proxy.distillation import SPAN_TEACHER_FLOOR, STEP_TEACHER_POOL

TEACHER_SEED_STRIDE = 1000  # teacher k trains with seed + k * stride (teacher 0 = the bench fit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=Path, required=True)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--teachers", type=int, default=3)
    parser.add_argument("--pool", type=int, default=STEP_TEACHER_POOL)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    task = load_task(args.task)
    if task.kind != "span":
        raise SystemExit("span tasks only")
    run_seeds(
        args.seeds, lambda seed: run_seed(task, args.n, seed, args.teachers, args.pool), args.out
    )


def run_seed(task: BenchTask, n: int, seed: int, k: int, pool: int) -> Row:
    data, texts = sample(task, n, seed, pool)
    expected = [d.example() for d in task.test]
    test_texts = [e.text for e in expected]
    pool_answers: list[list[SpanResult]] = []
    test_answers: list[list[SpanResult]] = []
    teacher_scores = []
    started = time.perf_counter()
    for index in range(k):
        teacher = fit(data, seed + index * TEACHER_SEED_STRIDE)
        test_answers.append(teacher.get_span(test_texts, task.instruction))
        teacher_scores.append(round(_exact_f1([test_answers[-1]], expected), 4))
        pool_answers.append(teacher.get_span(texts, task.instruction))
        print(f"seed {seed} teacher {index}: {teacher_scores[-1]}", flush=True)
    teach_seconds = time.perf_counter() - started
    one_taught = _voted_examples(texts, pool_answers[:1])
    one = test_score(fit(_with(data, one_taught), seed), task)
    print(f"seed {seed} student of teacher 0: {one:.4f}", flush=True)
    voted = _voted_examples(texts, pool_answers)
    ensemble = one if k == 1 else test_score(fit(_with(data, voted), seed), task)
    print(f"seed {seed} student of {k}: {ensemble:.4f}", flush=True)
    return {
        **row_head(task, n, seed, len(texts)),
        "teachers": teacher_scores,
        "ensemble_test": round(_exact_f1(test_answers, expected), 4),
        "taught_by_teacher_0": len(one_taught),
        f"taught_by_{k}": len(voted),
        "student_of_teacher_0": round(one, 4),
        f"student_of_{k}": round(ensemble, 4),
        "teach_seconds": round(teach_seconds),
    }


def _with(data: TaskData, taught: list[Example]) -> TaskData:
    return replace(data, examples=[*data.examples, *taught])


def _voted(answers: Sequence[SpanResult]) -> tuple[Span, ...]:
    """The spans more than half of the answers found at the same offsets, in text order."""
    votes = Counter(span.key for answer in answers for span in answer.spans)
    first = {span.key: span for answer in answers for span in answer.spans}
    kept = [first[key] for key, count in votes.items() if count * 2 > len(answers)]
    return tuple(sorted(kept, key=lambda span: (span.start, span.end)))


def _voted_examples(texts: Sequence[str], answers: Sequence[Sequence[SpanResult]]) -> list[Example]:
    """One example per text that more than half of the teachers answered surely."""
    examples = []
    for i, text in enumerate(texts):
        of_text = [teacher[i] for teacher in answers]
        sure = sum(answer.confidence >= SPAN_TEACHER_FLOOR for answer in of_text)
        if sure * 2 > len(of_text):
            examples.append(Example(text, spans=_voted(of_text)))
    return examples


def _exact_f1(answers: Sequence[Sequence[SpanResult]], expected: Sequence[Example]) -> float:
    """The teachers' majority answer on test, scored by exact span F1 as the bench scores."""
    predicted = [_voted([teacher[i] for teacher in answers]) for i in range(len(expected))]
    return score_spans(predicted, [e.spans for e in expected]).f1


if __name__ == "__main__":
    main()
