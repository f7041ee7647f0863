"""Hard vs soft (LLM P(yes)) label targets on the sst2 annotations of a `falconer bench e2e`
run (soft-no-offset: soft targets, decisions left at P >= 0.5).
Usage: python soft_labels_sst2.py soft|soft-no-offset|hard 0,1,2 E2E_WORKDIR OUT.json
(E2E_WORKDIR: the --workdir of the e2e run, e.g. /work/e2e-run/work)."""

import json
import random
import sys
from pathlib import Path

import pandas as pd

from falconer.annotator.records import load_run
from falconer.core.metrics import score_labels
from falconer.core.tasks import TaskData
from falconer.proxy import Proxy, TrainConfig

INSTRUCTION = "Is this movie review positive?"
TEST = Path("/work/shared/bench/tasks/sst2-positive/test.jsonl")


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def main(mode: str, seeds: list[int], root: Path, out: Path) -> None:
    run = load_run(root / "falconer-n100" / "annotations" / "s1.jsonl")
    examples = [a.example() for a in run.annotations]
    random.Random(0).shuffle(examples)
    train = examples[25:]  # the 25 held out as `falconer mine` holds them out
    annotated = {a.doc_id for a in run.annotations}
    llm_rows = pd.read_parquet(root / "llm-only" / "results.parquet")
    llm = {r.doc_id: bool(r.value) for r in llm_rows.itertuples()}
    unseen = [d for d in read_jsonl(root / "corpus.jsonl") if d["id"] not in annotated]
    test = read_jsonl(TEST)
    rows = []
    for seed in seeds:
        proxy = Proxy.from_pretrained("default", threads=1)
        config = TrainConfig(
            seed=seed,
            threads=1,
            soft_labels=mode != "hard",
            soft_label_offset=mode == "soft",
        )
        proxy.fit([TaskData(INSTRUCTION, "label", train)], config=config)
        answers = proxy.get_label([str(d["text"]) for d in unseen], INSTRUCTION)
        same = [a.value == llm[str(d["id"])] for a, d in zip(answers, unseen, strict=True)]
        on_test = proxy.get_label([str(d["text"]) for d in test], INSTRUCTION)
        gold = [bool(d["label"]) for d in test]
        accuracy = score_labels([a.value for a in on_test], gold).accuracy
        row = {
            "soft": mode != "hard",
            "offset": mode == "soft",
            "seed": seed,
            "agree_unseen": round(sum(same) / len(same), 4),
            "n_unseen": len(unseen),
            "test_acc": round(accuracy, 4),
        }
        print(row, flush=True)
        rows.append(row)
    out.write_text(json.dumps(rows))


if __name__ == "__main__":
    main(
        sys.argv[1],
        [int(s) for s in sys.argv[2].split(",")],
        Path(sys.argv[3]) / "sst2-positive",
        Path(sys.argv[4]),
    )
