"""Does asking the opposite question too cancel the 0.5B model's leaning to one answer?

The embedded LLM's P(yes) for the task's question and for its opposite (given), on the same N
documents of a split; the label is then "yes" where P(yes | question) > P(yes | opposite).
Accuracy of each question alone (at 0.5) and of the pair, against gold.

Usage: python label_polarity_pair.py TASK_DIR SPLIT N OUT.json "OPPOSITE QUESTION"
"""

import json
import sys
import time
from pathlib import Path

from _embedded import cached_client

from falconer.annotator.annotator import Annotator
from falconer.bench.annotator_bench import sample_documents
from falconer.bench.tasks import load_task
from falconer.core.documents import Document

task_dir, split, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
opposite = sys.argv[5]
task = load_task(task_dir)
docs = sample_documents(task, split, n, seed=0)
client = cached_client()
annotator = Annotator(client)
asked = [Document(d.id, d.text) for d in docs]
started = time.perf_counter()
p_yes = {}
for question in (task.instruction, opposite):
    run = annotator.annotate_sync(question, "label", asked)
    p_yes[question] = {a.doc_id: a.probability for a in run.annotations}
rows = [
    {
        "id": d.id,
        "gold": d.label,
        "p": p_yes[task.instruction].get(d.id),
        "p_opposite": p_yes[opposite].get(d.id),
    }
    for d in docs
]
answered = [r for r in rows if r["p"] is not None and r["p_opposite"] is not None]


def accuracy(decide) -> float:  # type: ignore[no-untyped-def]
    return sum(decide(r) == r["gold"] for r in answered) / max(len(answered), 1)


scores = {
    "question": accuracy(lambda r: r["p"] >= 0.5),
    "opposite": accuracy(lambda r: r["p_opposite"] < 0.5),
    "pair": accuracy(lambda r: r["p"] > r["p_opposite"]),
}
result = {
    "task": task.name,
    "split": split,
    "question": task.instruction,
    "opposite": opposite,
    "answered": len(answered),
    "accuracy": scores,
    "seconds": round(time.perf_counter() - started, 1),
    "rows": rows,
}
out.write_text(json.dumps(result, indent=1))
print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
