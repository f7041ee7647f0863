"""Re-centre a finished e2e run's soft-label decisions on the annotator's yes-rate over the
corpus texts it did not annotate (the shipped offset uses the annotated texts, which the
proxy has been fitted to), re-apply the plan with that offset, and score both against gold
and against the LLM-only run. One JSON line per call.

    python rate_matched_offset.py TASK_DIR E2E_TASK_FOLDER RUN_SUBFOLDER label|span OUT_DIR

(kind: how the task is scored; E2E_TASK_FOLDER: <--workdir of bench e2e>/<task name>.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from falconer.annotator.records import load_run
from falconer.bench.run_scoring import compare, gold_answers, run_folder_answers
from falconer.proxy import Proxy
from falconer.proxy.inference import text_logits


def doc_logits(proxy: Proxy, instruction: str, texts: list[str]) -> np.ndarray:
    """The label logit of each text (windows averaged in probability, as at inference)."""
    encoded, logits = text_logits(proxy.runtime, proxy.tokenizer, proxy.config, instruction, texts)
    probabilities = np.array(
        [np.mean([1 / (1 + np.exp(-logits.label[w])) for w in doc.windows]) for doc in encoded.docs]
    )
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    return np.log(clipped / (1 - clipped))


def main(task: Path, root: Path, sub: str, kind: str, out: Path) -> None:
    run_dir = root / sub
    plan = json.loads((run_dir / "plan.json").read_text())
    step = next(s for s in plan["steps"] if s["op"] == "get_label")
    instruction = step["instruction"]
    proxy = Proxy.from_pretrained(run_dir / "proxy")
    annotations = load_run(run_dir / "annotations" / f"{step['id']}.jsonl").annotations
    rate = sum(bool(a.label) for a in annotations) / len(annotations)
    annotated = {a.doc_id for a in annotations}
    corpus = [json.loads(line) for line in (root / "corpus.jsonl").read_text().splitlines()]
    logits = doc_logits(proxy, instruction, [d["text"] for d in corpus if d["id"] not in annotated])
    before = proxy.config.label_offsets.get(instruction, 0.0)
    k = round(rate * len(logits))
    ranked = np.sort(logits)[::-1]
    after = float((ranked[k - 1] + ranked[k]) / 2) if 0 < k < len(ranked) else before
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(run_dir, out / "run")
    config_path = out / "run" / "proxy" / "proxy.json"
    config = json.loads(config_path.read_text())
    config["label_offsets"][instruction] = round(after, 4)
    config_path.write_text(json.dumps(config))
    corpus_path = str(root / "corpus.jsonl")
    applied = out / "applied"
    command = ["falconer", "apply", str(out / "run"), "-i", corpus_path, "-o", str(applied)]
    subprocess.run(command, check=True, capture_output=True)
    ids = [d["id"] for d in corpus]
    _, gold = gold_answers(task)
    baseline = run_folder_answers(root / "llm-only", kind)
    row: dict[str, Any] = {
        "run": str(run_dir),
        "annotated_yes_rate": rate,
        "offset_before": before,
        "kept_unseen_before": int((logits >= before).sum()),
        "offset_rate_matched": round(after, 4),
        "kept_unseen_after": int((logits >= after).sum()),
        "n_unseen": len(logits),
    }
    for name, folder in (("before", run_dir), ("after", applied)):
        answers = run_folder_answers(folder, kind)
        row[name] = {
            "gold": round(compare(ids, answers, gold)["score"], 4),
            "agreement": round(compare(ids, answers, baseline)["score"], 4),
        }
    row["llm_only_gold"] = round(compare(ids, baseline, gold)["score"], 4)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], Path(sys.argv[5]))
