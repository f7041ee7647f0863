"""Retrain a finished e2e run's proxy from its saved annotations under training variants, and
score each retrain against gold and against the LLM-only run; for the label step also the
proxy's ranking (AUC) against gold on the corpus texts that were never annotated.

    python scripts/experiments/retrain_variants.py TASK_DIR E2E_TASK_FOLDER SEED OUT \
        [--variant base --variant spread2+pool ...] [--json results.jsonl]

A variant joins with '+': `base` (the TrainConfig defaults), `spreadX` (soft_label_spread=X),
`pool` / `nopool` (offset_on_unlabeled on / off).

E2E_TASK_FOLDER is one task's folder of a `falconer bench e2e` work dir (corpus.jsonl,
llm-only/, falconer-n100/; `--run` names another run folder beside llm-only/). No LLM call is
made: the saved annotations are reused.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from falconer.bench.run_scoring import compare, gold_answers, run_folder_answers
from falconer.cli.app import app
from falconer.engine import mine
from falconer.proxy import Proxy, TrainConfig


def variant_config(variant: str) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for part in variant.split("+"):
        if part.startswith("spread"):
            settings["soft_label_spread"] = float(part.removeprefix("spread"))
        elif part in ("pool", "nopool"):
            settings["offset_on_unlabeled"] = part == "pool"
        elif part != "base":
            raise SystemExit(f"unknown variant part {part!r}")
    return settings


def retrain(run: Path, source: Path, corpus: Path, seed: int, settings: dict[str, Any]) -> None:
    if run.exists():
        shutil.rmtree(run)
    run.mkdir(parents=True)
    shutil.copytree(source / "annotations", run / "annotations")
    n = len((source / "annotations" / "s1.jsonl").read_text().splitlines())
    mine.TrainConfig = functools.partial(TrainConfig, **settings)  # type: ignore[misc]
    args = ["mine", "--plan", str(source / "plan.json")]
    args += ["--input", str(corpus), "--output", str(run)]
    args += ["--annotate", str(n), "--seed", str(seed), "--threads", "2"]
    try:
        app(args)
    except SystemExit as done:
        if done.code:
            raise


def label_ranking(task: Path, root: Path, run: Path) -> dict[str, float | int]:
    """AUC against gold of the proxy's P(yes) on the never-annotated corpus texts, and how
    many of them it keeps."""
    plan = json.loads((run / "plan.json").read_text())
    step = next((s for s in plan["steps"] if s["op"] == "get_label"), None)
    if step is None:
        return {}
    docs = [json.loads(line) for line in (root / "corpus.jsonl").read_text().splitlines()]
    annotated = {
        json.loads(line)["id"]
        for line in (run / "annotations" / f"{step['id']}.jsonl").read_text().splitlines()
    }
    unseen = [d for d in docs if d["id"] not in annotated]
    _, gold = gold_answers(task)
    if gold.kind == "label":
        truth = np.array([gold.labels[d["id"]] for d in unseen])
    else:
        spans = next(iter(gold.spans.values()))
        truth = np.array([bool(spans.get(d["id"])) for d in unseen])
    proxy = Proxy.from_pretrained(run / "proxy")
    results = proxy.get_label([d["text"] for d in unseen], step["instruction"])
    scores = np.array([r.probability for r in results])
    return {
        "unseen": len(unseen),
        "unseen_auc_gold": round(float(roc_auc_score(truth, scores)), 3),
        "unseen_kept": int(sum(r.value for r in results)),
        "unseen_gold_yes": int(truth.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("task", type=Path)
    parser.add_argument("root", type=Path)
    parser.add_argument("seed", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--variant", action="append", default=[])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--run", default="falconer-n100", help="the run folder under ROOT")
    args = parser.parse_args()
    meta = json.loads((args.task / "task.json").read_text())
    kind = "label" if meta["kind"] == "label" else "span"
    ids = [json.loads(line)["id"] for line in (args.root / "corpus.jsonl").read_text().splitlines()]
    _, gold = gold_answers(args.task)
    baseline = run_folder_answers(args.root / "llm-only", kind)
    for variant in args.variant or ["base"]:
        settings = variant_config(variant)
        run = args.out / variant
        retrain(run, args.root / args.run, args.root / "corpus.jsonl", args.seed, settings)
        answers = run_folder_answers(run, kind)
        row = {
            "task": meta["name"],
            "root": str(args.root),
            "seed": args.seed,
            "variant": variant,
            "settings": settings,
            "gold": round(compare(ids, answers, gold)["score"], 4),
            "llm_only_gold": round(compare(ids, baseline, gold)["score"], 4),
            "agreement": round(compare(ids, answers, baseline)["score"], 4),
            **label_ranking(args.task, args.root, run),
        }
        print(json.dumps(row), flush=True)
        if args.json:
            with args.json.open("a") as sink:
                sink.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
