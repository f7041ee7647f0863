"""Can the embedded LLM's own token probabilities tell its right span extractions from wrong
ones? (The yes/no check of each candidate could not: AUC 0.47 on conll-persons.)

    python span_logprobs.py collect TASK_DIR SPLIT N RAW.json   # N documents, LLM calls
    python span_logprobs.py score RAW.json [RAW.json ...] > SUMMARY.json

`collect` asks the annotator's span prompt (no cache) with per-token logprobs; `score` rates
each extracted item by its least likely token, counting the token that opens the item (the
decision to add it), and by the mean over those tokens, and reports each rating's AUC against
gold and precision / recall / F1 when only items rated at least a threshold are kept.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from sklearn.metrics import roc_auc_score

from falconer.annotator.annotator import Annotator
from falconer.annotator.grounding import locate
from falconer.bench.annotator_bench import sample_documents
from falconer.bench.tasks import load_task
from falconer.llm.registry import create_backend

THRESHOLDS = (-0.05, -0.1, -0.2, -0.3, -0.5, -0.7, -1.0, -1.5)


def collect(task_dir: Path, split: str, n: int, out: Path) -> None:
    task = load_task(task_dir)
    docs = sample_documents(task, split, n, seed=0)  # as `bench annotator` samples
    backend = create_backend("embedded", threads=2, slots=2)
    annotator = Annotator(None, templates={}, concurrency=2)  # type: ignore[arg-type]
    gate = asyncio.Semaphore(2)

    async def one(doc: Any) -> dict[str, Any]:
        request = annotator.request(task.instruction, "span", doc.text)
        body = backend.payload(dataclasses.replace(request, top_logprobs=5))
        async with gate:
            data = await asyncio.to_thread(backend._complete, body)
        choice = data["choices"][0]
        tokens = [(t["token"], t["logprob"]) for t in choice["logprobs"]["content"]]
        gold = [[s.start, s.end] for s in (doc.spans or ())]
        answer = choice["message"]["content"]
        return {"id": doc.id, "text": doc.text, "gold": gold, "answer": answer, "tokens": tokens}

    async def every() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(one(d) for d in docs)))

    rows = asyncio.run(every())
    out.write_text(json.dumps({"task": task.name, "split": split, "rows": rows}))


def rated_items(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Each extracted item with its ratings and whether it is a gold span."""
    tokens = row["tokens"]
    starts, position = [], 0
    for token, _ in tokens:
        starts.append(position)
        position += len(token)
    answer = "".join(token for token, _ in tokens)
    try:
        strings = json.loads(row["answer"])["spans"]
    except (ValueError, KeyError):
        return []
    gold = {tuple(g) for g in row["gold"]}
    items, cursor = [], answer.find("[")
    for string in strings:
        quote = answer.find('"' + string, cursor)
        if quote < 0:
            continue
        begin, end = quote + 1, quote + 1 + len(string)
        cursor = end
        inside = [i for i, s in enumerate(starts) if s < end and s + len(tokens[i][0]) > begin]
        opener = [i for i, s in enumerate(starts) if s <= quote < s + len(tokens[i][0])]
        logprobs = [tokens[i][1] for i in sorted(set(inside + opener))]
        right = any(place in gold for place in locate(row["text"], string))
        items.append({"min": min(logprobs), "mean": sum(logprobs) / len(logprobs), "right": right})
    return items


def score(path: Path) -> dict[str, Any]:
    raw = json.loads(path.read_text())
    items = [item for row in raw["rows"] for item in rated_items(row)]
    n_gold = sum(len(row["gold"]) for row in raw["rows"])
    right = [item["right"] for item in items]
    summary: dict[str, Any] = {"task": raw["task"], "split": raw["split"]}
    summary |= {"documents": len(raw["rows"]), "items": len(items), "gold": n_gold}
    for rating in ("min", "mean"):
        summary[f"auc_{rating}"] = round(roc_auc_score(right, [i[rating] for i in items]), 3)
        curve = []
        for threshold in (-99.0, *THRESHOLDS):
            kept = [i for i in items if i[rating] >= threshold]
            hits = sum(i["right"] for i in kept)
            precision, recall = hits / max(len(kept), 1), hits / max(n_gold, 1)
            f1 = 2 * precision * recall / max(precision + recall, 1e-9)
            curve.append({"threshold": threshold, "kept": len(kept), "f1": round(f1, 3)})
        summary[f"f1_by_{rating}"] = curve
    return summary


if __name__ == "__main__":
    if sys.argv[1] == "collect":
        collect(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]))
    else:
        print(json.dumps([score(Path(p)) for p in sys.argv[2:]], indent=1))
