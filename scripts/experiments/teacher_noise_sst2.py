"""Does the embedded LLM's noise hold the sst2 proxy back, or the backbone? The same annotated
reviews of a `bench e2e` run, trained on with gold labels and with the LLM's (hard, and soft
as `mine` trains by default), scored on the corpus reviews no step annotated.

    python teacher_noise_sst2.py E2E_TASK_FOLDER RUN SEEDS OUT.json
    # e.g. .../work/sst2-positive falconer-n600 0,1,2 results/e2e/sst2-teacher-noise.json
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from falconer.annotator.records import load_run
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig

INSTRUCTION = "Is this movie review positive?"
TEST = Path(__file__).resolve().parents[3] / "shared/bench/tasks/sst2-positive/test.jsonl"


def targets(variant: str, annotations: dict[str, Any], gold: dict[str, bool]) -> list[Example]:
    examples = []
    for doc_id in sorted(annotations):
        example = annotations[doc_id].example()
        if variant == "gold":
            example = Example(example.text, label=gold[doc_id])
        elif variant == "llm-hard":
            example = Example(example.text, label=example.label)
        examples.append(example)
    return examples


def main(folder: Path, run_name: str, seeds: list[int], out: Path) -> None:
    run = load_run(folder / run_name / "annotations" / "s1.jsonl")
    annotations = {a.doc_id: a for a in run.annotations}
    rows = [json.loads(line) for line in TEST.read_text().splitlines()]
    gold = {r["id"]: bool(r["label"]) for r in rows}
    unseen = [r for r in rows if r["id"] not in annotations]
    llm_rows = pd.read_parquet(folder / "llm-only" / "results.parquet")
    llm = {r.doc_id: bool(r.value) for r in llm_rows.itertuples()}
    results: list[dict[str, Any]] = [
        {
            "variant": "llm-only",
            "n_unseen": len(unseen),
            "acc_unseen": round(sum(llm[r["id"]] == r["label"] for r in unseen) / len(unseen), 4),
        }
    ]
    for seed in seeds:
        for variant in ("gold", "llm-hard", "llm-soft"):
            examples = targets(variant, annotations, gold)
            random.Random(seed).shuffle(examples)
            soft = variant == "llm-soft"
            config = TrainConfig(seed=seed, threads=2, soft_labels=soft, soft_label_offset=soft)
            proxy = Proxy.from_pretrained("default", threads=2)
            proxy.fit([TaskData(INSTRUCTION, "label", examples)], config=config)
            answers = proxy.get_label([r["text"] for r in unseen], INSTRUCTION)
            right = sum(a.value == r["label"] for a, r in zip(answers, unseen, strict=True))
            same = sum(a.value == llm[r["id"]] for a, r in zip(answers, unseen, strict=True))
            row = {"variant": variant, "seed": seed, "n_train": len(examples)}
            row |= {"acc_unseen": round(right / len(unseen), 4)}
            row |= {"agree_llm_unseen": round(same / len(unseen), 4)}
            print(json.dumps(row), flush=True)
            results.append(row)
            out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    seeds = [int(s) for s in sys.argv[3].split(",")]
    main(Path(sys.argv[1]), sys.argv[2], seeds, Path(sys.argv[4]))
