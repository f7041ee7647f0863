"""Which rule turns the type question's option shares into keep/drop? Exact F1 over the
candidates span_type_choice.py saved (words5-text), per task and split, for: no check, a
majority share (>= 0.5), the argmax, the argmax after dividing out the content-free bias,
the share against that bias times 1.0 / 1.2 / 1.4, and (as shipped) the share against the bias
for strings with a capital letter only, the capital rule alone, and the shipped rule with kept
strings trimmed to their capitalised words (scored against the gold spans of
../shared/bench/tasks).

Usage: python type_rules.py   (reads results/annotator/prompt-experiments/)
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from falconer.annotator.annotator import trimmed_to_name
from falconer.bench.tasks import load_task
from falconer.core.spans import Span

ROOT = Path(__file__).parents[2]
FOLDER = ROOT / "results/annotator/prompt-experiments"
BENCH = ROOT.parent / "shared/bench/tasks"
TASKS = {"person": "persons", "organization": "organizations", "location": "locations"}
Row = dict[str, Any]

content_free = json.loads((FOLDER / "type-words5-text-content-free.json").read_text())
phrases = ("N/A", "", "XXXX", "[MASK]")
options = list(content_free["N/A"])
bias = {o: sum(content_free[p][o] for p in phrases) / len(phrases) for o in options}


def calibrated(shares: dict[str, float]) -> dict[str, float]:
    divided = {o: shares[o] / bias[o] for o in options}
    total = sum(divided.values())
    return {o: v / total for o, v in divided.items()}


def f1(rows: list[Row], n_gold: int, keep: Callable[[Row], bool]) -> float:
    kept = [r for r in rows if keep(r)]
    right = sum(r["gold"] for r in kept)
    precision, recall = right / max(len(kept), 1), right / n_gold
    return round(2 * precision * recall / max(precision + recall, 1e-9), 3)


def rules(wanted: str) -> dict[str, Callable[[Row], bool]]:
    def share(r: Row) -> float:
        return float(r["options"][wanted])

    def top(shares: dict[str, float]) -> str:
        return max(shares, key=lambda o: shares[o])

    def capital(r: Row) -> bool:
        return any(char.isupper() for char in r["text"])

    return {
        "no check": lambda r: True,
        "capital only": capital,
        "share >= bias, capital (shipped)": lambda r: capital(r) and share(r) >= bias[wanted],
        "share >= 0.5": lambda r: share(r) >= 0.5,
        "argmax": lambda r: top(r["options"]) == wanted,
        "calibrated argmax": lambda r: top(calibrated(r["options"])) == wanted,
        **{
            f"share >= {k} x bias": (lambda r, k=k: share(r) >= k * bias[wanted])
            for k in (1.0, 1.2, 1.4)
        },
    }


def trimmed_f1(rows: list[Row], n_gold: int, wanted: str) -> float:
    """The shipped rule, each kept string trimmed like the annotator trims it."""
    task = load_task(BENCH / f"conll-{TASKS[wanted]}")
    gold = {d.id: {(s.start, s.end) for s in d.spans or ()} for d in (*task.train, *task.test)}
    kept = set()
    for r in rows:
        if any(c.isupper() for c in r["text"]) and r["options"][wanted] >= bias[wanted]:
            span = trimmed_to_name(Span(r["start"], r["end"], r["text"]))
            kept.add((r["id"], span.start, span.end))
    right = sum((start, end) in gold[doc] for doc, start, end in kept)
    precision, recall = right / max(len(kept), 1), right / n_gold
    return round(2 * precision * recall / max(precision + recall, 1e-9), 3)


print("bias:", {o: round(v, 3) for o, v in bias.items()})
for wanted, name in TASKS.items():
    for split, n in (("train", 120), ("test", 200)):
        data = json.loads((FOLDER / f"{name}-{split}{n}-type-words5-text.json").read_text())
        rows, n_gold = data["candidates"], data["n_gold"]
        scores = {rule: f1(rows, n_gold, keep) for rule, keep in rules(wanted).items()}
        scores["shipped, trimmed to the capitalised words"] = trimmed_f1(rows, n_gold, wanted)
        print(f"{name} {split}: {scores}")
