"""The embedded LLM's P(yes) on N documents of a label task, for prompt work on the train pool.

Also asks the question of five content-free documents ("N/A", "", ...), the bias that
contextual calibration would divide out (measured: it hurt, sst2 0.815 -> 0.700).

Usage: python label_probs.py TASK_DIR SPLIT N OUT.json [TEMPLATE.txt]
"""

import json
import sys
from pathlib import Path

from _embedded import cached_client

from falconer.annotator.annotator import Annotator
from falconer.bench.annotator_bench import sample_documents
from falconer.bench.tasks import load_task
from falconer.core.documents import Document

CONTENT_FREE = ("N/A", " ", "[MASK]", "text", "...")

task_dir, split, n, out = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
templates = {"label": sys.argv[5]} if len(sys.argv) > 5 else None
task = load_task(task_dir)
docs = sample_documents(task, split, n, seed=0)
client = cached_client()
annotator = Annotator(client, templates=templates)
free = [Document(f"cf{i}", text) for i, text in enumerate(CONTENT_FREE)]
content_free = {
    a.doc_id: a.probability
    for a in annotator.annotate_sync(task.instruction, "label", free).annotations
}
run = annotator.annotate_sync(task.instruction, "label", [Document(d.id, d.text) for d in docs])
p_yes = {a.doc_id: a.probability for a in run.annotations}
rows = [{"id": d.id, "gold": d.label, "p": p_yes.get(d.id)} for d in docs]
result = {"task": task.name, "split": split, "content_free": content_free, "rows": rows}
out.write_text(json.dumps(result, indent=1))
answered = [r for r in rows if r["p"] is not None]
accuracy = sum((r["p"] >= 0.5) == r["gold"] for r in answered) / max(len(answered), 1)
print(f"{task.name} {split} n={len(answered)} accuracy at P(yes) >= 0.5: {accuracy:.3f}")
