"""Is the distilled student undertrained? `bench proxy --distil-from mpnet` trains MiniLM on 256
gold labels plus ~3,700 teacher answers for the schedule's 4 epochs, and every such fit kept its
last checkpoint (held-out score still rising). Here the teacher is fitted once per seed exactly
as the benchmark does (its answers cached as JSON beside OUT), then students are trained for
each given number of optimizer steps and scored on the test split.

A run may also change what the student learns from (STEPS:VARIANT): `hard` (the teacher's
answers as 0/1, not its P(yes)), `gold3` (the gold examples three times over), `confident`
(only the teacher's answers with |P(yes) - 0.5| >= 0.3). Label tasks only.

Usage: python distil_student_steps.py TASK_DIR SEED OUT.jsonl STEPS[:VARIANT] [...]
"""

import json
import re
import sys
import time
from pathlib import Path

from falconer.bench.tasks import load_task
from falconer.core.spans import Span
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.checks import check_answers
from falconer.proxy.distillation import taught_tasks

task_dir, seed, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
runs = [(int(a.split(":")[0]), [*a.split(":"), "soft"][1]) for a in sys.argv[4:]]
task = load_task(task_dir)
annotated, rest = task.sample(256, seed)
data = task.task_data(annotated)
texts = [d.text for d in rest][:4000]
expected = [d.example() for d in task.test]
cache = out.with_name(f"teacher-{task.name}-seed{seed}.json")
CLAUSE_BREAK = re.compile(r"\s+(?:,|;|:|--|-|but|and|although|though|while)\s+")


def fragments_of(texts: list[str]) -> list[str]:
    """Clauses of at least 4 words, each once, none equal to a whole text."""
    seen, found = set(texts), []
    for text in texts:
        parts = [p.strip() for p in CLAUSE_BREAK.split(text)]
        if len(parts) < 2:
            continue
        for part in parts:
            if len(part.split()) >= 4 and part not in seen:
                seen.add(part)
                found.append(part)
    return found


def dump(example: Example) -> dict[str, object]:
    spans = None if example.spans is None else [[s.start, s.end, s.text] for s in example.spans]
    return {"text": example.text, "label": example.label, "p": example.probability, "spans": spans}


def load(row: dict[str, object]) -> Example:
    spans = row["spans"]
    return Example(
        str(row["text"]),
        label=row["label"],  # type: ignore[arg-type]
        probability=row["p"],  # type: ignore[arg-type]
        spans=None if spans is None else tuple(Span(a, b, t) for a, b, t in spans),  # type: ignore[attr-defined]
    )


if cache.is_file():
    record = json.loads(cache.read_text())
    taught = TaskData(data.instruction, data.kind, [*data.examples, *map(load, record["answers"])])
else:
    started = time.perf_counter()
    teacher = Proxy.from_pretrained("mpnet", threads=2)
    teacher.fit([data], config=TrainConfig(seed=seed, threads=2))
    (taught,), _ = taught_tasks(teacher, [data], texts)
    teacher_score = check_answers(teacher, task.instruction, task.kind, expected).score(task.metric)
    added = taught.examples[len(data.examples) :]
    (on_fragments,), _ = taught_tasks(teacher, [data], fragments_of(texts))
    record = {
        "teacher_score": teacher_score,
        "seconds": time.perf_counter() - started,
        "answers": [dump(e) for e in added],
        "fragment_answers": [dump(e) for e in on_fragments.examples[len(data.examples) :]],
    }
    cache.write_text(json.dumps(record))
print(f"teacher {record['teacher_score']:.4f}", flush=True)


def variant_of(taught: TaskData, variant: str) -> TaskData:
    gold, answers = list(data.examples), taught.examples[len(data.examples) :]
    if variant == "hard":
        answers = [Example(e.text, label=bool(e.probability >= 0.5)) for e in answers]  # type: ignore[operator]
    elif variant == "gold3":
        gold = gold * 3
    elif variant == "fragments":
        if "fragment_answers" not in record:
            raise SystemExit(f"{cache} predates the fragments variant: remove it to refit")
        answers = [*answers, *map(load, record["fragment_answers"])]
    elif variant == "confident":
        answers = [e for e in answers if abs(e.probability - 0.5) >= 0.3]  # type: ignore[operator]
    elif variant != "soft":
        raise SystemExit(f"unknown variant {variant!r}")
    return TaskData(taught.instruction, taught.kind, [*gold, *answers])


for steps, variant in runs:
    started = time.perf_counter()
    student = Proxy.from_pretrained("default", threads=2)
    lesson = variant_of(taught, variant)
    report = student.fit([lesson], config=TrainConfig(seed=seed, threads=2, min_steps=steps))
    seconds = time.perf_counter() - started
    score = check_answers(student, task.instruction, task.kind, expected).score(task.metric)
    row = {
        "task": task.name,
        "seed": seed,
        "min_steps": steps,
        "variant": variant,
        "examples": len(lesson.examples),
        "steps": report.steps,
        "best_step": report.best_step,
        "score": round(score, 4),
        "teacher_score": round(record["teacher_score"], 4),
        "train_seconds": round(seconds, 1),
        "history": report.history,
    }
    print(json.dumps(row), flush=True)
    with out.open("a") as sink:
        sink.write(json.dumps(row) + "\n")
