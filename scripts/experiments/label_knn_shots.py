"""Does a label question answer better with nearest-neighbour shots? Each document is asked
the bundled label prompt with, after its generic shots, the K most similar documents (backbone
embeddings, cosine) that the LLM itself already labelled confidently (P(yes) >= HI or <= 1-HI
in a first pass), with those LLM answers. No gold label enters a prompt.

POOL is a P(yes) file from label_probs.py (the first pass); with --loo the pool is the
evaluated documents' own first pass, each document's own row left out (what an annotator
could do over its sample: a second pass).

Usage: python label_knn_shots.py TASK_DIR SPLIT N POOL.json OUT.json [K] [HI] [--loo]
"""

import asyncio
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
from _embedded import cached_client

from falconer.annotator.annotator import Annotator, parse_label
from falconer.annotator.prompts import Shot
from falconer.annotator.sampling import embed
from falconer.bench.annotator_bench import sample_documents
from falconer.bench.tasks import load_task
from falconer.llm.client import LLMClient

args = [a for a in sys.argv[1:] if not a.startswith("--")]
loo = "--loo" in sys.argv
task_dir, split, n = Path(args[0]), args[1], int(args[2])
pool_file, out = Path(args[3]), Path(args[4])
k = int(args[5]) if len(args) > 5 else 4
hi = float(args[6]) if len(args) > 6 else 0.85
task = load_task(task_dir)
docs = sample_documents(task, split, n, seed=0)
pool_rows = json.loads(pool_file.read_text())["rows"]
pool_split = split if loo else "train"
every = {d.id: d for d in (*task.train, *task.test)}
confident = [r for r in pool_rows if r["p"] is not None and (r["p"] >= hi or r["p"] <= 1 - hi)]
pool_texts = [every[r["id"]].text for r in confident]
pool_vectors = embed(pool_texts)
doc_vectors = embed([d.text for d in docs])
client: LLMClient = cached_client()
annotator = Annotator(client)
template = annotator.templates["label"]


async def ask_all() -> list[dict]:
    gate = asyncio.Semaphore(2)

    async def one(doc, vector) -> dict:
        similarity = pool_vectors @ vector
        order = [i for i in np.argsort(-similarity) if confident[i]["id"] != doc.id][:k]
        near = [
            Shot(task.instruction, pool_texts[i], confident[i]["p"] >= 0.5) for i in reversed(order)
        ]
        with_near = dataclasses.replace(template, shots=(*template.shots, *near))
        messages = with_near.messages(task.instruction, doc.text, lambda a: "yes" if a else "no")
        request = dataclasses.replace(
            annotator.request(task.instruction, "label", doc.text), messages=messages
        )
        async with gate:
            answer = await client.ask(
                request, parse_label, template_version=f"{template.version}-knn"
            )
        return {"id": doc.id, "gold": doc.label, "p": answer.value[1]}

    return list(await asyncio.gather(*(one(d, v) for d, v in zip(docs, doc_vectors, strict=True))))


rows = asyncio.run(ask_all())
accuracy = sum((r["p"] >= 0.5) == r["gold"] for r in rows) / len(rows)
out.write_text(
    json.dumps(
        {"task": task.name, "k": k, "hi": hi, "loo": loo, "pool": len(confident), "rows": rows},
        indent=1,
    )
)
print(f"{task.name} {split} k={k} hi={hi} loo={loo} pool={len(confident)} accuracy {accuracy:.3f}")
