"""What a two-step (filter, spans) `bench e2e` run would score if every document the annotator
answered a step of kept the annotator's answer for that step instead of the proxy's. The
proxy of a rare filter says yes to a third of its own annotated reviews where the LLM said yes
to a tenth (its decision offset is centred on unannotated texts, below the soft targets of the
annotated no-answers); a document the LLM already answered could simply keep that answer.

Re-scored offline from the run folder: annotations, the saved proxy (for the spans of reviews
only the annotator kept), and the results. The reviews no step annotated are unchanged.

Usage: python known_answers.py WORKDIR/TASK_NAME TASK_DIR
"""

import json
import sys
from pathlib import Path

from falconer.annotator.records import load_run
from falconer.bench.run_scoring import Answers, compare, gold_answers, run_folder_answers
from falconer.core.spans import Span
from falconer.engine.report import REPORT_JSON
from falconer.plan.schema import Plan
from falconer.proxy import Proxy

folder, task_dir = Path(sys.argv[1]), Path(sys.argv[2])
run_dir = next(folder.glob("falconer-n*"))
plan = Plan.parse(json.loads((run_dir / REPORT_JSON).read_text())["plan"])
label_step = next(s for s in plan.steps if s.op == "get_label")
span_step = next(s for s in plan.steps if s.op == "get_span")
field = next(name for name, step in plan.fields.items() if step == span_step.id)
rows_of_corpus = map(json.loads, (folder / "corpus.jsonl").open())
texts = {row["id"]: row["text"] for row in rows_of_corpus}
gold_ids, gold = gold_answers(task_dir)
ids = [i for i in gold_ids if i in texts]
llm_only = run_folder_answers(folder / "llm-only", "span")
proxy_answers = run_folder_answers(run_dir, "span")

labels = {
    a.doc_id: bool(a.label)
    for a in load_run(run_dir / "annotations" / f"{label_step.id}.jsonl").annotations
}
spans = {
    a.doc_id: list(a.spans or ())
    for a in load_run(run_dir / "annotations" / f"{span_step.id}.jsonl").annotations
}
kept_rows = run_folder_answers(run_dir, "label").labels  # the filter's decision per document
kept = {i for i in ids if labels.get(i, kept_rows.get(i, False))}

missing = [i for i in kept if i not in spans and i not in kept_rows]
proxy = Proxy.from_pretrained(run_dir / "proxy", threads=2)
computed = dict(
    zip(missing, proxy.get_span([texts[i] for i in missing], span_step.instruction), strict=True)
)
merged: dict[str, list[Span]] = {}
for i in kept:
    if i in spans:
        merged[i] = spans[i]
    elif i in computed:
        merged[i] = list(computed[i].spans)
    else:
        merged[i] = proxy_answers.spans[field].get(i, [])
known = Answers("span", {}, {field: merged})

annotated = set(labels) | set(spans)
rows = {}
for name, chosen in (("all", ids), ("annotated", [i for i in ids if i in annotated])):
    rows[name] = {
        "documents": len(chosen),
        "llm_only": compare(chosen, llm_only, gold)["score"],
        "proxy": compare(chosen, proxy_answers, gold)["score"],
        "known_answers": compare(chosen, known, gold)["score"],
    }
kept_by_proxy = sum(kept_rows.get(i, False) for i in ids)
print(
    json.dumps({"run": str(run_dir), "kept_proxy": kept_by_proxy, "kept_known": len(kept), **rows})
)
