"""Span candidates of the embedded LLM on N documents, each with its P(yes) under a check
template and whether it is a gold span: can a yes/no check tell right extractions from wrong?

Usage: python span_verify.py TASK_DIR SPLIT N VERIFY_TEMPLATE OUT.json
"""

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from _embedded import cached_client

from falconer.annotator.annotator import Annotator, parse_label
from falconer.bench.annotator_bench import sample_documents
from falconer.bench.tasks import load_task
from falconer.core.documents import Document
from falconer.core.spans import Span

task_dir, split, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
verify, out = sys.argv[4], Path(sys.argv[5])
task = load_task(task_dir)
docs = sample_documents(task, split, n, seed=0)
client = cached_client()
annotator = Annotator(client, templates={"verify": verify})
run = annotator.annotate_sync(task.instruction, "span", [Document(d.id, d.text) for d in docs])
gold = {d.id: {(s.start, s.end) for s in (d.spans or ())} for d in docs}
texts = {d.id: d.text for d in docs}
version = annotator.templates["verify"].version


async def check(doc_id: str, span: Span) -> dict[str, Any]:
    request = annotator.verify_request(task.instruction, texts[doc_id], span.text)
    answer = await client.ask(request, parse_label, template_version=version)
    return {
        "id": doc_id,
        "text": span.text,
        "start": span.start,
        "end": span.end,
        "p": answer.value[1],
        "gold": (span.start, span.end) in gold[doc_id],
    }


async def check_all() -> list[dict[str, Any]]:
    jobs = [check(a.doc_id, s) for a in run.annotations for s in (a.spans or ())]
    return list(await asyncio.gather(*jobs))


candidates = asyncio.run(check_all())
n_gold = sum(len(g) for g in gold.values())
result = {"task": task.name, "verify": verify, "n_gold": n_gold, "candidates": candidates}
out.write_text(json.dumps(result, indent=1))
print(f"{len(candidates)} candidates, {sum(c['gold'] for c in candidates)} right, {n_gold} gold")
