"""How a finished filter-then-spans e2e run would score against gold and against LLM-only had
its filter kept a different share of the corpus: the saved proxy's label logits ranked over the
reviews the label step never annotated (as `fit_label_offset` ranks them), the decision offset
put at each share by the same `offset_at_share`, and the proxy's own spans on whatever the
filter keeps.

Shares tried: the annotator's hard yes-share (what the shipped offset matches), the mean of
its P(yes) (the share a calibrated annotator's answers imply), and a fixed grid. The shipped
offset is re-scored too, as a check that this re-scoring reproduces the run. To tell the
filter's part from the spans', the proxy's spans are also scored behind LLM-only's filter and
behind gold's, and its filter ranking of the unannotated reviews by AUC against gold.

    python keep_rate_sweep.py TASK_DIR E2E_TASK_FOLDER [RUN_SUBFOLDER]   # one JSON line
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from falconer.annotator.records import load_run
from falconer.bench.run_scoring import Answers, compare, gold_answers, run_folder_answers
from falconer.proxy import Proxy
from falconer.proxy.calibration import f1_optimal_share, offset_at_share

sys.path.insert(0, str(Path(__file__).parent))
from rate_matched_offset import doc_logits

GRID = (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40)


def main(task: Path, root: Path, sub: str) -> None:
    run_dir = root / sub
    plan = json.loads((run_dir / "plan.json").read_text())
    label_step = next(s for s in plan["steps"] if s["op"] == "get_label")
    span_step = next(s for s in plan["steps"] if s["op"] == "get_span")
    field = next(name for name, step in plan["fields"].items() if step == span_step["id"])
    proxy = Proxy.from_pretrained(run_dir / "proxy", threads=2)
    corpus = [json.loads(line) for line in (root / "corpus.jsonl").read_text().splitlines()]
    ids, texts = [d["id"] for d in corpus], [d["text"] for d in corpus]
    runs = {
        s["id"]: load_run(run_dir / "annotations" / f"{s['id']}.jsonl").annotations
        for s in plan["steps"]
    }
    labelled = {a.doc_id for a in runs[label_step["id"]]}
    seen = labelled | {a.doc_id for a in runs[span_step["id"]]}
    unannotated = [i for i in ids if i not in seen]

    logits = dict(zip(ids, doc_logits(proxy, label_step["instruction"], texts), strict=True))
    spans = {
        i: list(r.spans)
        for i, r in zip(ids, proxy.get_span(texts, span_step["instruction"]), strict=True)
    }
    unlabelled_logits = np.array([logits[i] for i in ids if i not in labelled])
    _, gold = gold_answers(task)
    llm_only = run_folder_answers(root / "llm-only", "span")

    def scored(offset: float) -> dict[str, Any]:
        return scored_kept({i for i in ids if logits[i] >= offset})

    def scored_kept(kept: set[str]) -> dict[str, Any]:
        answers = Answers("span", {}, {field: {i: spans[i] for i in kept}})
        return {
            "kept": len(kept),
            "gold": round(compare(ids, answers, gold)["score"], 4),
            "gold_unannotated": round(compare(unannotated, answers, gold)["score"], 4),
            "agreement": round(compare(ids, answers, llm_only)["score"], 4),
        }

    def at_share(share: float) -> float:
        return offset_at_share(unlabelled_logits, share)

    annotations = runs[label_step["id"]]
    hard = sum(bool(a.label) for a in annotations) / len(annotations)
    soft = statistics.mean(float(a.probability) for a in annotations if a.probability is not None)
    llm_kept = {
        i for i, kept in run_folder_answers(root / "llm-only", "label").labels.items() if kept
    }
    gold_kept = {i for i in ids if gold.spans["spans"].get(i)}
    truth = [i in gold_kept for i in unannotated]
    shipped = proxy.config.label_offsets.get(label_step["instruction"], 0.0)
    unannotated_texts = [t for i, t in zip(ids, texts, strict=True) if i not in labelled]
    calibrated = np.array(
        [r.probability for r in proxy.get_label(unannotated_texts, label_step["instruction"])]
    )
    f1_share = f1_optimal_share(calibrated)
    row: dict[str, Any] = {
        "run": str(run_dir),
        "llm_only": {
            "gold": round(compare(ids, llm_only, gold)["score"], 4),
            "gold_unannotated": round(compare(unannotated, llm_only, gold)["score"], 4),
        },
        "run_as_saved": round(compare(ids, run_folder_answers(run_dir, "span"), gold)["score"], 4),
        # the proxy's filter against its spans: its ranking of the unannotated reviews, and
        # its spans behind LLM-only's filter and behind a perfect one
        "filter_auc_gold_unannotated": round(
            float(roc_auc_score(truth, [logits[i] for i in unannotated])), 4
        ),
        "proxy_spans_behind_llm_only_filter": scored_kept(llm_kept),
        "proxy_spans_behind_gold_filter": scored_kept(gold_kept),
        "shipped": {"share": round(hard, 4), "offset": shipped, **scored(shipped)},
        "mean_p_yes": {"share": round(soft, 4), **scored(at_share(soft))},
        # the share maximising expected F1 under the proxy's calibrated P(yes), as
        # calibration.fit_filter_threshold chooses it (no gold read)
        "expected_f1": {
            "share": round(f1_share, 4),
            "mean_calibrated_p": round(float(calibrated.mean()), 4),
            **scored(at_share(f1_share)),
        },
        "grid": {f"{share:.2f}": scored(at_share(share)) for share in GRID},
    }
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(
        Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "falconer-n200"
    )
