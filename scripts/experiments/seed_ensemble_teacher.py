"""Born-again one-task fits taught by a seed ensemble (Furlanello et al. 2018).

Why: step teachers lifted the multitask proxy's yes/no steps to their single-task level, and a
wider backbone (MPNet) teaching MiniLM lifts the single-task fit itself (sst2 0.786 -> 0.844).
Can MiniLM teach itself past its own single fit? K MiniLM proxies fitted on the same N oracle
labels with different training seeds answer POOL unannotated train texts; one student on the
same backbone learns the labels plus those answers. The student with one teacher (K=1, plain
born-again) is fitted too, so the ensemble's share of any gain shows (with --teachers 1 only
that student). Teacher 0 trains with the bench seed: its student is the shipped single-task
fit (`falconer bench proxy`, the README's table).

Yes/no tasks: the majority decision, with the mean of the teachers' P(yes) as the soft target.
Span tasks (a span answer has no soft target to average; a majority vote removes one fit's
stray spans): a span is taught when more than half of the teachers found exactly it, a text
when more than half of them were sure of their answer (its least sure word at or above
SPAN_TEACHER_FLOOR, the shipped rule for one teacher).

Usage: python seed_ensemble_teacher.py --task DIR --n 256 --seeds 0 1 2 --teachers 3
       --pool 1000 --out results/proxy/FILE.jsonl
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from _born_again import Row, fit, row_head, run_seeds, sample, test_score

from falconer.bench.tasks import BenchTask, load_task
from falconer.core.metrics import score_labels, score_spans
from falconer.core.results import SpanResult
from falconer.core.spans import Span
from falconer.core.tasks import Example, TaskData
from falconer.proxy.distillation import SPAN_TEACHER_FLOOR
from falconer.proxy.proxy import Proxy

A = TypeVar("A")  # one teacher's answers on a list of texts
LabelAnswers = tuple[list[bool], list[float]]  # decisions and the annotator-scale P(yes)
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
    run_seed = run_label_seed if task.kind == "label" else run_span_seed
    run_seeds(
        args.seeds, lambda seed: run_seed(task, args.n, seed, args.teachers, args.pool), args.out
    )


def run_label_seed(task: BenchTask, n: int, seed: int, k: int, pool: int) -> Row:
    data, texts = sample(task, n, seed, pool)
    expected = [d.example() for d in task.test]

    def answer(teacher: Proxy, texts: list[str]) -> LabelAnswers:
        labels = teacher.get_label(texts, task.instruction)
        return [r.value for r in labels], teacher.annotator_probabilities(texts, task.instruction)

    def score(answers: list[LabelAnswers]) -> float:
        return score_votes([decisions for decisions, _ in answers], expected, task.metric)

    test_answers, pool_answers, scores, seconds = teach(task, data, texts, k, seed, answer, score)
    decisions = [d for d, _ in pool_answers]
    soft = [s for _, s in pool_answers]
    one = student_score(task, data, texts, decisions[:1], soft[:1], seed)
    ensemble = one if k == 1 else student_score(task, data, texts, decisions, soft, seed)
    return {
        **row_head(task, n, seed, len(texts)),
        "teachers": scores,
        "ensemble_test": round(score(test_answers), 4),
        "student_of_teacher_0": round(one, 4),
        f"student_of_{k}": round(ensemble, 4),
        "teach_seconds": seconds,
    }


def teach(
    task: BenchTask,
    data: TaskData,
    texts: list[str],
    k: int,
    seed: int,
    answer: Callable[[Proxy, list[str]], A],
    score: Callable[[list[A]], float],
) -> tuple[list[A], list[A], list[float], int]:
    """K first fits answer the test split and the pool: their answers, test scores, seconds."""
    test_texts = [d.text for d in task.test]
    test_answers: list[A] = []
    pool_answers: list[A] = []
    scores = []
    started = time.perf_counter()
    for index in range(k):
        teacher = fit(data, seed + index * TEACHER_SEED_STRIDE)
        test_answers.append(answer(teacher, test_texts))
        scores.append(round(score(test_answers[-1:]), 4))
        pool_answers.append(answer(teacher, texts))
        print(f"seed {seed} teacher {index}: {scores[-1]}", flush=True)
    return test_answers, pool_answers, scores, round(time.perf_counter() - started)


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


def run_span_seed(task: BenchTask, n: int, seed: int, k: int, pool: int) -> Row:
    data, texts = sample(task, n, seed, pool)
    expected = [d.example() for d in task.test]

    def answer(teacher: Proxy, texts: list[str]) -> list[SpanResult]:
        return teacher.get_span(texts, task.instruction)

    def score(answers: list[list[SpanResult]]) -> float:
        return _exact_f1(answers, expected)

    test_answers, pool_answers, scores, seconds = teach(task, data, texts, k, seed, answer, score)
    one_taught = _voted_examples(texts, pool_answers[:1])
    one = test_score(fit(_with(data, one_taught), seed), task)
    print(f"seed {seed} student of teacher 0: {one:.4f}", flush=True)
    voted = _voted_examples(texts, pool_answers)
    ensemble = one if k == 1 else test_score(fit(_with(data, voted), seed), task)
    print(f"seed {seed} student of {k}: {ensemble:.4f}", flush=True)
    return {
        **row_head(task, n, seed, len(texts)),
        "teachers": scores,
        "ensemble_test": round(score(test_answers), 4),
        "taught_by_teacher_0": len(one_taught),
        f"taught_by_{k}": len(voted),
        "student_of_teacher_0": round(one, 4),
        f"student_of_{k}": round(ensemble, 4),
        "teach_seconds": seconds,
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
    return score_spans(predicted, [e.spans or () for e in expected]).f1


if __name__ == "__main__":
    main()
