"""Is the distilled student undertrained? `bench proxy --distil-from mpnet` trains MiniLM on 256
gold labels plus ~3,700 teacher answers for the schedule's 4 epochs, and every such fit kept its
last checkpoint (held-out score still rising). Here the teacher is fitted once per seed exactly
as the benchmark does (its answers cached as JSON beside OUT), then students are trained for
each given number of optimizer steps and scored on the test split.

A run may also change what the student learns from (STEPS:VARIANT): `hard` (the teacher's
answers as 0/1, not its P(yes)), `gold3` (the gold examples three times over), `confident`
(only the teacher's answers with |P(yes) - 0.5| >= 0.3), `fragments` (also its answers on the
texts' clauses), `augmented` (also its answers, in bfloat16, on noised copies of every pool text:
Tang et al. 2019's recipe for distilling BERT into small students on SST-2). Label tasks only.
`STEPS:VARIANT:EPOCHS` caps the student at EPOCHS epochs (the schedule's 4 epochs of an
augmented set would be ~4,000 steps).

Usage: python distil_student_steps.py TASK_DIR SEED OUT.jsonl STEPS[:VARIANT] [...]
"""

import json
import random
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
from falconer.proxy.runtimes import Bfloat16Runtime

task_dir, seed, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
runs = [
    (int(a.split(":")[0]), [*a.split(":"), "soft"][1], [*a.split(":"), "", ""][2] or None)
    for a in sys.argv[4:]
]
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


def augmented_copies(texts: list[str], copies: int, rng: random.Random) -> list[str]:
    """`copies` noised versions of each text (Tang et al. 2019, without a POS tagger): each
    word dropped with p 0.1 or replaced by a word drawn from the pool's words with p 0.1, then
    with p 0.25 cut to a random window of at least 4 words. New texts only, each once."""
    words = [w for text in texts for w in text.split()]
    seen, found = set(texts), []
    for text in texts:
        tokens = text.split()
        for _ in range(copies):
            noised = []
            for token in tokens:
                r = rng.random()
                if r >= 0.2:
                    noised.append(token)
                elif r >= 0.1:
                    noised.append(rng.choice(words))
            if rng.random() < 0.25 and len(noised) > 4:
                size = rng.randint(4, len(noised))
                start = rng.randint(0, len(noised) - size)
                noised = noised[start : start + size]
            candidate = " ".join(noised)
            if candidate and candidate not in seen:
                seen.add(candidate)
                found.append(candidate)
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
    record = {
        "teacher_score": teacher_score,
        "seconds": time.perf_counter() - started,
        "answers": [dump(e) for e in added],
    }
    variants = {variant for _, variant, _ in runs}
    if "fragments" in variants:
        (on_fragments,), _ = taught_tasks(teacher, [data], fragments_of(texts))
        record["fragment_answers"] = [dump(e) for e in on_fragments.examples[len(data.examples) :]]
    if "augmented" in variants:
        started = time.perf_counter()
        teacher.runtime = Bfloat16Runtime(teacher.model)
        pool = [*(e.text for e in data.examples), *texts]
        copies = augmented_copies(pool, 3, random.Random(seed))
        (on_copies,), _ = taught_tasks(teacher, [data], copies)
        record["augmented_answers"] = [dump(e) for e in on_copies.examples[len(data.examples) :]]
        record["augmented_seconds"] = time.perf_counter() - started
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
    elif variant == "augmented":
        if "augmented_answers" not in record:
            raise SystemExit(f"{cache} lacks the augmented answers: remove it to refit")
        answers = [*answers, *map(load, record["augmented_answers"])]
    elif variant == "confident":
        answers = [e for e in answers if abs(e.probability - 0.5) >= 0.3]  # type: ignore[operator]
    elif variant != "soft":
        raise SystemExit(f"unknown variant {variant!r}")
    return TaskData(taught.instruction, taught.kind, [*gold, *answers])


for steps, variant, epochs in runs:
    started = time.perf_counter()
    student = Proxy.from_pretrained("default", threads=2)
    lesson = variant_of(taught, variant)
    report = student.fit(
        [lesson],
        config=TrainConfig(
            seed=seed,
            threads=2,
            min_steps=steps,
            max_epochs=None if epochs is None else int(epochs),
        ),
    )
    seconds = time.perf_counter() - started
    score = check_answers(student, task.instruction, task.kind, expected).score(task.metric)
    row = {
        "task": task.name,
        "seed": seed,
        "min_steps": steps,
        "variant": variant,
        "max_epochs": epochs,
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
