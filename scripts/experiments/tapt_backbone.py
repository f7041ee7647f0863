"""Task-adaptive pre-training on a bench task's unlabelled train texts, for
`falconer bench proxy --backbone OUT_FOLDER`. Since 2026-12-06 (forty-seventh session) it calls
`falconer.proxy.adaptation.adapt_backbone`, what `falconer adapt` runs; the sst2 and ncbi
figures of the TAPT paragraph of docs/results.md (sst2, ncbi, conll-persons) came from its earlier
standalone version, same recipe (200 head-only steps, then EPOCHS epochs at LEARNING_RATE), but
it truncated texts at 128 tokens and scored the vocabulary on every position:
`git show 6e0cdd2:scripts/experiments/tapt_backbone.py`.

Usage: python tapt_backbone.py TASK_DIR OUT_FOLDER [EPOCHS] [LEARNING_RATE]
"""

import json
import sys
from pathlib import Path

from falconer.proxy.adaptation import AdaptConfig, adapt_backbone


def main() -> None:
    task, out = Path(sys.argv[1]), Path(sys.argv[2])
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 5e-5
    texts = [json.loads(line)["text"] for line in (task / "train.jsonl").read_text().splitlines()]
    report = adapt_backbone(texts, out, config=AdaptConfig(epochs=epochs, learning_rate=rate))
    print(json.dumps({"task": task.name, **report.to_dict()}))


if __name__ == "__main__":
    main()
