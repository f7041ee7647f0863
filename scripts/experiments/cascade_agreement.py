"""Agreement of a cascade run with an LLM-only run of the same plan and corpus (label plans).

Usage: python cascade_agreement.py CASCADE_RUN LLM_ONLY_RUN OUT.json
"""

import json
import sys
from pathlib import Path

import pandas as pd

cascade_dir, llm_dir, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
cascade = pd.read_parquet(cascade_dir / "results.parquet")
llm = pd.read_parquet(llm_dir / "results.parquet")
report = json.loads((cascade_dir / "report.json").read_text())
annotated = {
    json.loads(line)["id"]
    for path in (cascade_dir / "annotations").glob("*.jsonl")
    for line in path.read_text().splitlines()
}
answers = {(r.doc_id, r.field): (r.value, r.model) for r in cascade.itertuples()}
expected = {(r.doc_id, r.field): r.value for r in llm.itertuples()}
same = {key: answers.get(key, (None, None))[0] == value for key, value in expected.items()}
docs = {doc for doc, _ in expected}
unseen = [key for key in same if key[0] not in annotated]
deferred = {doc for (doc, _), (_, model) in answers.items() if model == "llm"}
result = {
    "documents": len(docs),
    "annotated": len(annotated & docs),
    "agreement_all": sum(same.values()) / len(same),
    "agreement_unseen": sum(same[k] for k in unseen) / max(len(unseen), 1),
    "deferred": len(deferred),
    "deferred_share_of_documents": len(deferred) / len(docs),
    "steps": report["steps"],
    "seconds": report["seconds"],
}
out.write_text(json.dumps(result, indent=2, default=str))
print(json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=2, default=str))
