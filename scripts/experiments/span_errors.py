"""What the embedded annotator gets wrong on a span task: its extractions on N documents of a
split (the sample `falconer bench annotator` draws), each marked right or wrong against gold,
the gold spans it missed, and the strings it returned that the text does not hold.

Usage: python span_errors.py TASK_DIR SPLIT N OUT.jsonl [SPAN_TEMPLATE.txt]

Answers come from the LLM cache when `falconer bench annotator` ran first with the same
arguments (and the bundled span template). Prints the bench's span scores and the most
frequent wrong and missed strings.
"""

import collections
import json
import sys
from pathlib import Path

from _embedded import cached_client

from falconer.annotator.annotator import Annotator
from falconer.bench.annotator_bench import sample_documents, score
from falconer.bench.tasks import load_task
from falconer.core.documents import Document

task_dir, split, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
templates = {"span": sys.argv[5]} if len(sys.argv) > 5 else None
task = load_task(task_dir)
docs = sample_documents(task, split, n, seed=0)
client = cached_client()
run = Annotator(client, templates=templates).annotate_sync(
    task.instruction, task.kind, [Document(d.id, d.text) for d in docs]
)
by_id = {a.doc_id: a for a in run.annotations}
wrong: collections.Counter[str] = collections.Counter()
missed: collections.Counter[str] = collections.Counter()
dropped: collections.Counter[str] = collections.Counter()
with out.open("w") as sink:
    for doc in docs:
        annotation = by_id.get(doc.id)
        predicted = (
            {(s.start, s.end): s.text for s in (annotation.spans or ())} if annotation else {}
        )
        gold = {(s.start, s.end): s.text for s in doc.spans or ()}
        wrong.update(t.lower() for k, t in predicted.items() if k not in gold)
        missed.update(t.lower() for k, t in gold.items() if k not in predicted)
        lost = list(annotation.dropped) if annotation else []
        dropped.update(s.lower() for s in lost)
        row = {
            "id": doc.id,
            "text": doc.text,
            "gold": sorted(gold.values()),
            "right": sorted(t for k, t in predicted.items() if k in gold),
            "wrong": sorted(t for k, t in predicted.items() if k not in gold),
            "missed": sorted(t for k, t in gold.items() if k not in predicted),
            "dropped": lost,
        }
        sink.write(json.dumps(row) + "\n")
print(json.dumps(score("span", docs, run)))
print("wrong:", wrong.most_common(40))
print("missed:", missed.most_common(40))
print("dropped:", dropped.most_common(40))
