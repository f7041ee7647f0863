"""Out-of-fold pruning of the LLM's sst2 labels (confident-learning style) on the data of
teacher_noise_sst2.py: two folds predict each other, reviews whose out-of-fold P(the LLM's
label) is below T are dropped, and the proxy is trained again on the rest.

    python noisy_label_pruning_sst2.py E2E_TASK_FOLDER RUN SEED T[,T...]
    # prints one JSON line per T; e.g. .../work/sst2-positive falconer-n600 0 0.2,0.35
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from falconer.annotator.records import load_run
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig

INSTRUCTION = "Is this movie review positive?"
TEST = Path(__file__).resolve().parents[3] / "shared/bench/tasks/sst2-positive/test.jsonl"


def fit(examples: list[Example], seed: int) -> Proxy:
    proxy = Proxy.from_pretrained("default", threads=2)
    config = TrainConfig(seed=seed, threads=2)
    proxy.fit([TaskData(INSTRUCTION, "label", examples)], config=config)
    return proxy


def out_of_fold(examples: dict[str, Example], ids: list[str], seed: int) -> dict[str, float]:
    """Each review's P(its LLM label) from a proxy trained on the other half."""
    half = len(ids) // 2
    folds = [ids[:half], ids[half:]]
    agreement = {}
    for k in range(2):
        proxy = fit([examples[i] for i in folds[1 - k]], seed)
        answers = proxy.get_label([examples[i].text for i in folds[k]], INSTRUCTION)
        for doc_id, answer in zip(folds[k], answers, strict=True):
            p = answer.probability
            agreement[doc_id] = p if examples[doc_id].label else 1 - p
    return agreement


def main(folder: Path, run_name: str, seed: int, thresholds: list[float]) -> None:
    run = load_run(folder / run_name / "annotations" / "s1.jsonl")
    examples = {a.doc_id: a.example() for a in run.annotations}
    rows = [json.loads(line) for line in TEST.read_text().splitlines()]
    gold = {r["id"]: bool(r["label"]) for r in rows}
    unseen = [r for r in rows if r["id"] not in examples]
    ids = sorted(examples)
    random.Random(seed).shuffle(ids)
    agreement = out_of_fold(examples, ids, seed)
    wrong = {i for i in ids if examples[i].label != gold[i]}
    for threshold in thresholds:
        kept = [i for i in ids if agreement[i] >= threshold]
        dropped = set(ids) - set(kept)
        proxy = fit([examples[i] for i in kept], seed)
        answers = proxy.get_label([r["text"] for r in unseen], INSTRUCTION)
        right = sum(a.value == r["label"] for a, r in zip(answers, unseen, strict=True))
        row: dict[str, Any] = {"seed": seed, "T": threshold, "kept": len(kept)}
        row |= {"dropped": len(dropped), "dropped_wrong": len(dropped & wrong)}
        row |= {"teacher_wrong": len(wrong), "acc_unseen": round(right / len(unseen), 4)}
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    thresholds = [float(t) for t in sys.argv[4].split(",")]
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), thresholds)
