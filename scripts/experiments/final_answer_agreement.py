"""Share of documents whose final answer (kept by the filter or not, and the same rows of every
field) is the same in two run folders, over all documents and over those no step annotated
(`falconer bench score --against` gives the first of the two).

Usage: python final_answer_agreement.py RUN LLM_ONLY_RUN CORPUS.jsonl [OUT.json]
"""

import json
import sys
from pathlib import Path

import pandas as pd

from falconer.bench.e2e_bench import annotated_ids

run, llm_run, corpus = (Path(a) for a in sys.argv[1:4])
ids = [json.loads(line)["id"] for line in corpus.read_text().splitlines()]
annotated = annotated_ids(run)


def answers(folder: Path) -> dict[str, tuple[tuple[object, ...], ...]]:
    frame = pd.read_parquet(folder / "results.parquet")
    rows: dict[str, list[tuple[object, ...]]] = {}
    for row in frame.itertuples():
        start = None if pd.isna(row.start) else int(row.start)
        end = None if pd.isna(row.end) else int(row.end)
        rows.setdefault(str(row.doc_id), []).append((row.field, start, end, str(row.value)))
    return {doc: tuple(sorted(found)) for doc, found in rows.items()}


ours, theirs = answers(run), answers(llm_run)
same = {doc: ours.get(doc, ()) == theirs.get(doc, ()) for doc in ids}
unseen = [doc for doc in ids if doc not in annotated]
result = {
    "documents": len(ids),
    "annotated": len(set(ids) & annotated),
    "same_answer_all": round(sum(same.values()) / len(ids), 4),
    "same_answer_unannotated": round(sum(same[doc] for doc in unseen) / max(len(unseen), 1), 4),
}
print(json.dumps(result))
if len(sys.argv) > 4:
    Path(sys.argv[4]).write_text(json.dumps(result, indent=2) + "\n")
