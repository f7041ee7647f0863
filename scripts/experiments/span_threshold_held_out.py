"""Would a span-confidence threshold chosen on the held-out annotations mend the typed persons
proxy's over-prediction? In `bench e2e --task conll-persons --span-type person` runs the proxy
predicted 132 / 146 spans where the LLM gave 106 / 115 (precision 0.55 / 0.61 against gold,
recall 0.81 / 0.85); keeping only spans of confidence >= 0.8 would have given 0.674 / 0.723
instead of 0.652 / 0.709 (chosen against gold, so only a bound).

Here the threshold is chosen as a run could: on the step's held-out LLM annotations (the slice
the run folder's seed cut off, by `Miner._split` itself), the candidate with the best exact F1
against them (ties: the lowest). Then the run's results are filtered by it and scored against
gold, over all documents and over the unannotated ones, beside LLM-only.

Usage: python span_threshold_held_out.py TASK_DIR E2E_TASK_FOLDER SEED [N_ANNOTATE]
(E2E_TASK_FOLDER: `--workdir`/TASK_NAME of a finished `bench e2e` run)
"""

import json
import sys
from pathlib import Path

from falconer.annotator.records import load_run
from falconer.bench.e2e_bench import annotated_ids
from falconer.bench.run_scoring import Answers, compare, gold_answers, run_folder_answers
from falconer.core.metrics import score_spans
from falconer.core.spans import Span
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.report import REPORT_JSON
from falconer.engine.results import read_results
from falconer.engine.run_folder import PROXY_DIR
from falconer.plan.schema import Plan
from falconer.proxy import Proxy

CANDIDATES = (0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)

task_dir, folder, seed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
run_dir = folder / f"falconer-n{sys.argv[4] if len(sys.argv) > 4 else 100}"
report = json.loads((run_dir / REPORT_JSON).read_text())
plan = Plan.parse(report["plan"])
step = plan.steps[0]
run = load_run(run_dir / "annotations" / f"{step.id}.jsonl")
_, held_by_step = Miner(run_dir, MineOptions(seed=seed))._split(plan, {step.id: run})
held = held_by_step[step.id]
proxy = Proxy.from_pretrained(run_dir / PROXY_DIR, threads=2)
found = proxy.get_span([e.text for e in held], step.instruction)


def kept(spans: list[Span], threshold: float) -> list[Span]:
    return [s for s in spans if s.confidence >= threshold]


held_f1 = {
    t: score_spans([kept(list(r.spans), t) for r in found], [list(e.spans or ()) for e in held]).f1
    for t in CANDIDATES
}
chosen = max(CANDIDATES, key=lambda t: (round(held_f1[t], 6), -t))
ids, gold = gold_answers(task_dir)
corpus = {json.loads(line)["id"] for line in (folder / "corpus.jsonl").read_text().splitlines()}
ids = [i for i in ids if i in corpus]
baseline = run_folder_answers(folder / "llm-only", "span")
results = read_results(run_dir / Path(report["outputs"]["results"]).name).to_pylist()
unseen = [i for i in ids if i not in annotated_ids(run_dir)]
rows = []
for t in CANDIDATES:
    spans: dict[str, list[Span]] = {}
    for r in results:
        if r["kind"] == "span" and r["confidence"] >= t:
            spans.setdefault(r["doc_id"], []).append(Span(r["start"], r["end"], r["text"]))
    answers = Answers("span", {}, {"spans": spans})
    rows.append(
        {
            "threshold": t,
            "held_out_f1": round(held_f1[t], 4),
            "chosen": t == chosen,
            "score": round(compare(ids, answers, gold)["score"], 4),
            "unannotated": round(compare(unseen, answers, gold)["score"], 4),
            "spans": sum(map(len, spans.values())),
        }
    )
summary = {
    "task": task_dir.name,
    "seed": seed,
    "held_out": len(held),
    "held_out_spans": sum(len(e.spans or ()) for e in held),
    "llm_only": round(compare(ids, baseline, gold)["score"], 4),
    "llm_only_unannotated": round(compare(unseen, baseline, gold)["score"], 4),
    "rows": rows,
}
print(json.dumps(summary, indent=1))
