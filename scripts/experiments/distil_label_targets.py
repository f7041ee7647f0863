"""Which P(yes) a teacher should hand the executing proxy for a label step, re-run offline on a
finished distilled e2e run (its annotations and its saved teacher; no LLM call).

The annotator's soft targets are the LLM's own P(yes) (laptop-criticized: mean 0.39, yes at
0.5 for 6.5%). The teacher's `get_label` probabilities are on another scale: its logits
re-centred on the annotator's yes-share and divided by a fitted temperature (mean 0.11,
sharpened by T = 0.25). A student learning both at once meets two scales for one question.

Variants (same teacher, same annotations, same student training through `Miner._train`):
  calibrated  what ships: the teacher's calibrated P(yes) and its decision
  raw         the teacher's estimate of the annotator's P(yes): its raw logit, the training
              stretch undone (`sigmoid(logit / stretch)`), and its decision

Each student then gets its filter threshold (`Miner._fit_filter_thresholds`), runs over the
corpus and is scored against gold like `bench e2e` scores a run.

    python distil_label_targets.py TASK_DIR E2E_TASK_FOLDER VARIANT [VARIANT ...]
"""

from __future__ import annotations

import json
import math
import random
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from falconer.annotator.records import load_run
from falconer.bench.e2e_bench import annotated_ids
from falconer.bench.run_scoring import Answers, compare, gold_answers
from falconer.core.tasks import Example, TaskData
from falconer.engine.mine import MineOptions, Miner
from falconer.plan.schema import Plan
from falconer.proxy import Proxy
from falconer.proxy.distillation import taught_tasks
from falconer.proxy.inference import text_logits

SPREAD = 1.0  # TrainConfig.soft_label_spread


def stretch_of(examples: list[Example]) -> float:
    logits = [math.log(e.probability / (1 - e.probability)) for e in examples if e.probability]
    return max(1.0, SPREAD / float(np.std(logits)))


def raw_taught(teacher: Proxy, task: TaskData, texts: list[str], stretch: float) -> list[Example]:
    decided = teacher.get_label(texts, task.instruction)
    encoded, logits = text_logits(
        teacher.runtime, teacher.tokenizer, teacher.config, task.instruction, texts
    )
    raw = logits.label_probabilities(stretch, 0.0)  # sigmoid(logit / stretch)
    return [
        Example(text, label=r.value, probability=float(np.mean([raw[w] for w in doc.windows])))
        for text, r, doc in zip(texts, decided, encoded.docs, strict=True)
    ]


def main(task_dir: Path, root: Path, variants: list[str]) -> None:
    source = next(root.glob("falconer-n*"))
    plan = Plan.from_json((source / "plan.json").read_text())
    corpus_rows = [json.loads(line) for line in (root / "corpus.jsonl").open()]
    ids = [r["id"] for r in corpus_rows]
    text_of = {r["id"]: r["text"] for r in corpus_rows}
    ids_gold, gold = gold_answers(task_dir)
    asked = annotated_ids(source)
    unseen = [i for i in ids if i not in asked]
    teacher = Proxy.from_pretrained(source / "teacher", threads=2)
    tasks = []
    for step in plan.steps:
        run = load_run(source / "annotations" / f"{step.id}.jsonl")
        examples = [a.example() for a in run.annotations]
        random.Random(4).shuffle(examples)
        tasks.append(TaskData(step.instruction, step.kind, examples[20:], examples[:20]))
    label_step = next(s for s in plan.steps if s.kind == "label")
    span_step = next(s for s in plan.steps if s.kind == "span")
    field = next(name for name, sid in plan.fields.items() if sid == span_step.id)
    label_seen = {a.doc_id for a in load_run(source / "annotations" / "s1.jsonl").annotations}
    unannotated = {label_step.instruction: [text_of[i] for i in ids if i not in label_seen]}
    texts = [text_of[i] for i in unseen]
    for variant in variants:
        out = root / f"exp-{variant}"
        miner = Miner(out, MineOptions(seed=4, threads=2, distil_from="mpnet"), log=print)
        taught, _ = taught_tasks(teacher, tasks, texts)
        if variant == "raw":
            label = next(t for t in tasks if t.kind == "label")
            stretch = stretch_of(list(label.examples))
            extra = raw_taught(teacher, label, texts, stretch)
            taught = [
                replace(t, examples=[*t.examples, *extra]) if t.kind == "label" else tt
                for t, tt in zip(tasks, taught, strict=True)
            ]
        label_taught = next(t for t in taught if t.kind == "label").examples[-len(texts) :]
        student = miner._train(taught, unannotated)
        thresholds = miner._fit_filter_thresholds(plan, student, unannotated)
        all_texts = [text_of[i] for i in ids]
        kept = student.get_label(all_texts, label_step.instruction)
        spans = student.get_span(all_texts, span_step.instruction)
        answers = Answers(
            "span",
            {},
            {
                field: {
                    i: list(sp.spans) for i, k, sp in zip(ids, kept, spans, strict=True) if k.value
                }
            },
        )
        print(
            json.dumps(
                {
                    "variant": variant,
                    "taught_mean_p": round(statistics.mean(e.probability for e in label_taught), 4),
                    "taught_yes": sum(bool(e.label) for e in label_taught),
                    "thresholds": thresholds,
                    "config": {
                        "offsets": student.config.label_offsets,
                        "temperatures": student.config.temperatures,
                    },
                    "kept": sum(k.value for k in kept),
                    "kept_unannotated": sum(
                        k.value for i, k in zip(ids, kept, strict=True) if i in set(unseen)
                    ),
                    "gold": round(compare(ids_gold, answers, gold)["score"], 4),
                    "gold_unannotated": round(compare(unseen, answers, gold)["score"], 4),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
