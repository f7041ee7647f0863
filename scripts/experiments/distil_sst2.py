"""Does a MiniLM proxy taught by a larger-backbone proxy keep the teacher's quality, and on
which documents? The teacher is the proxy of a finished `falconer mine --backbone mpnet` run on
sst2 test reviews; MiniLM learns the same LLM annotations (the run's held-out quarter picks
its checkpoint), plus the teacher's answers on one of these pools:

  none      nothing else (the baseline)
  corpus    every unannotated corpus review (the ones it is scored on)
  split     every second unannotated review (also scored on the other half alone)
  trainN    the first N of sst2's train texts, none of them in the corpus

Scored against gold and against an LLM-only run on the unannotated reviews.

Usage: python distil_sst2.py RUN LLM_ONLY_RUN CORPUS.jsonl TASK_DIR POOL SEED OUT.jsonl
(results/proxy/distil-sst2.jsonl: RUN was the sst2 cascade run of the fourteenth session)
"""

import json
import random
import sys
import time
from pathlib import Path

import pandas as pd

from falconer.annotator.records import load_run
from falconer.bench.tasks import load_task
from falconer.core.tasks import TaskData
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.distillation import taught_tasks

run, llm_run, corpus_path, task_dir = (Path(a) for a in sys.argv[1:5])
pool, seed, out = sys.argv[5], int(sys.argv[6]), Path(sys.argv[7])
task = load_task(task_dir)
gold = {d.id: d.label for d in task.test}
corpus = [json.loads(line) for line in corpus_path.read_text().splitlines()]
llm = pd.read_parquet(llm_run / "results.parquet").set_index("doc_id")["value"].to_dict()
annotations = load_run(run / "annotations" / "s1.jsonl")
instruction = annotations.instruction
examples = [a.example() for a in annotations.annotations]
random.Random(0).shuffle(examples)  # the run's held-out quarter (engine.mine.Miner._split)
cut = round(len(examples) * 0.25)
held, train = examples[:cut], examples[cut:]
seen = {a.doc_id for a in annotations.annotations}
others = [d for d in corpus if d["id"] not in seen]

texts: list[str] = []
if pool == "corpus":
    texts = [d["text"] for d in others]
elif pool == "split":
    texts = [d["text"] for d in others[::2]]
elif pool.startswith("train"):
    texts = [d.text for d in task.train[: int(pool[5:])]]
data = [TaskData(instruction, "label", train, held)]
started = time.perf_counter()
if texts:
    teacher = Proxy.from_pretrained(run / "proxy", threads=2)
    data, _ = taught_tasks(teacher, data, texts)
teach_seconds = time.perf_counter() - started
student = Proxy.from_pretrained("default", threads=2)
started = time.perf_counter()
config = TrainConfig(seed=seed, threads=2, min_steps=300)
student.fit(data, {instruction: [d["text"] for d in others]}, config=config)
train_seconds = time.perf_counter() - started
answers = student.get_label([d["text"] for d in others], instruction)


def scores(indices: list[int]) -> dict[str, float]:
    ids = [others[i]["id"] for i in indices]
    right = sum(answers[i].value == gold[others[i]["id"]] for i in indices)
    agree = sum(answers[i].value == llm[others[i]["id"]] for i in indices)
    llm_right = sum(llm[i] == gold[i] for i in ids)
    return {
        "documents": len(ids),
        "student_gold": round(right / len(ids), 4),
        "llm_only_gold": round(llm_right / len(ids), 4),
        "ratio": round(right / llm_right, 4),
        "agreement_with_llm_only": round(agree / len(ids), 4),
    }


result = {
    "pool": pool,
    "seed": seed,
    "taught": len(texts),
    "unannotated": scores(list(range(len(others)))),
    "teach_seconds": round(teach_seconds, 1),
    "train_seconds": round(train_seconds, 1),
}
if pool == "split":
    result["outside_pool"] = scores(list(range(1, len(others), 2)))
print(json.dumps(result))
with out.open("a") as file:
    file.write(json.dumps(result) + "\n")
