"""Falconer and LLM-only scored on the corpus documents no step annotated, for `bench e2e`
run folders written before the bench reported it itself.

Usage: python unannotated_scores.py WORKDIR/TASK_NAME TASK_DIR OUT.json
"""

import json
import sys
from pathlib import Path

from falconer.bench.e2e_bench import annotated_ids
from falconer.bench.run_scoring import compare, gold_answers, run_folder_answers

folder, task_dir, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
meta = json.loads((task_dir / "task.json").read_text())
kind = "label" if meta["kind"] == "label" else "span"
corpus_ids = {json.loads(line)["id"] for line in (folder / "corpus.jsonl").open()}
ids, gold = gold_answers(task_dir)
ids = [i for i in ids if i in corpus_ids]
baseline = run_folder_answers(folder / "llm-only", kind)
rows = []
for run_dir in sorted(folder.glob("falconer-n*"), key=lambda p: int(p.name.split("-n")[1])):
    answers = run_folder_answers(run_dir, kind)
    asked = annotated_ids(run_dir)
    for name, chosen in (
        ("annotated", [i for i in ids if i in asked]),
        ("unannotated", [i for i in ids if i not in asked]),
    ):
        row = {
            "n_annotate": int(run_dir.name.split("-n")[1]),
            "documents": name,
            "count": len(chosen),
            "falconer": compare(chosen, answers, gold)["score"],
            "llm_only": compare(chosen, baseline, gold)["score"],
            "agreement": compare(chosen, answers, baseline)["score"],
        }
        row["ratio"] = row["falconer"] / row["llm_only"] if row["llm_only"] else None
        rows.append(row)
        print(json.dumps(row))
out.write_text(json.dumps({"task": meta["name"], "rows": rows}, indent=2))
