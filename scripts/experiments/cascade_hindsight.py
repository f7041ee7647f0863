"""How much a label cascade could defer in hindsight: the run's proxy ranks every corpus
document by confidence, the least sure go to the LLM, and agreement with an LLM-only run is
counted at fixed deferral shares (all documents, and those no step annotated).

Usage: python cascade_hindsight.py CASCADE_RUN LLM_ONLY_RUN CORPUS.jsonl OUT.json
"""

import json
import sys
from pathlib import Path

import pandas as pd

from falconer.bench.e2e_bench import annotated_ids
from falconer.proxy import Proxy

SHARES = (0.1, 0.2, 0.25, 0.3, 0.35, 0.4)

run, llm_run, corpus, out = (Path(a) for a in sys.argv[1:5])
plan = json.loads((run / "plan.json").read_text())
instruction = plan["steps"][0]["instruction"]
docs = [json.loads(line) for line in corpus.read_text().splitlines()]
llm = pd.read_parquet(llm_run / "results.parquet")
expected = dict(zip(llm.doc_id, llm.value, strict=True))
annotated = annotated_ids(run)
results = Proxy.from_pretrained(run / "proxy").get_label([d["text"] for d in docs], instruction)
rows = [
    (r.confidence, bool(r.value) == bool(expected[d["id"]]), d["id"])
    for r, d in zip(results, docs, strict=True)
]
summary = {}
for name, subset in (("all", rows), ("unseen", [r for r in rows if r[2] not in annotated])):
    ranked = sorted(subset)
    n = len(ranked)
    curve = {}
    for share in SHARES:
        k = int(share * n)
        curve[str(share)] = round((k + sum(a for _, a, _ in ranked[k:])) / n, 4)
    summary[name] = {
        "documents": n,
        "proxy_agreement": round(sum(a for _, a, _ in ranked) / n, 4),
        "agreement_at_deferred_share": curve,
    }
out.write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
